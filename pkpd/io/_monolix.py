"""Monolix data files and tables -> :func:`from_monolix`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DatasetError
from ._dataset import Dataset
from ._read import _na_option, _read_file
from ._table import MISSING_TEXT
from ._formats import _Source, _assemble, _check, _covariates, _units
from ._long import _source

__all__ = ["from_monolix"]


# ---------------------------------------------------------------------------------------------
# from_monolix
# ---------------------------------------------------------------------------------------------
#: Monolix column names (case-insensitive) and what they hold.
MONOLIX = {"ID": "ID", "TIME": "TIME", "AMT": "AMT", "Y": "DV", "DV": "DV", "YTYPE": "YTYPE", "DVID": "YTYPE",
           "ADM": "ADM", "EVID": "EVID", "MDV": "MDV", "II": "II", "ADDL": "ADDL", "SS": "SS", "RATE": "RATE",
           "TINF": "TINF", "CENS": "CENS", "LIMIT": "LIMIT", "CMT": "CMT"}


def from_monolix(data, *, adm: Mapping | None = None, ytype: Mapping | None = None, units: Mapping | None = None,
                 mw: float | None = None, na_values=()) -> Dataset:
    """Read a Monolix-style dataset (a file or a DataFrame) as a NONMEM-style :class:`Dataset`.

    Parameters
    ----------
    data : str, Path or DataFrame
        Columns named as Monolix's column types (case-insensitive): ``ID``, ``TIME``, ``AMT``, ``Y`` (or
        ``DV``), and as present ``YTYPE`` (or ``DVID``), ``ADM``, ``EVID``, ``MDV``, ``II``, ``ADDL``, ``SS``,
        ``RATE`` or ``TINF``, ``CENS``, ``LIMIT``; any other column is a covariate (``OCC`` too). ``.`` and
        an empty cell are missing, as in Monolix. A file is read as :func:`read_nonmem` reads one (encodings,
        separators, ``#`` comment lines); a DataFrame is never modified.
    adm : mapping, optional
        Monolix's administration type (``ADM``) to the dose compartment, e.g. ``{1: "DEPOT", 2: "CENTRAL"}``;
        default: the ADM value is the compartment number. Without an ADM (or CMT) column doses go to CMT 0.
    ytype : mapping, optional
        The observation type (``YTYPE``) to the observed compartment; default: observations keep CMT 0 and
        ``YTYPE`` becomes the ``DVID`` column (which output each observation is).
    units, mw, na_values
        As in :func:`read_nonmem` (``units`` by Monolix names or NONMEM's: ``Y`` is ``DV``).

    Returns
    -------
    Dataset
        Without an ``EVID`` column, a row with a dose (``AMT`` > 0) and an observation (``Y`` not missing,
        ``MDV`` not 1) becomes two records, the observation first; ``TINF`` becomes ``RATE = AMT / TINF``;
        ``CENS = 1`` (left-censored: ``Y`` is the limit of quantification) becomes ``BLQ = 1`` with
        ``LLOQ = DV = Y`` (the columns the M3 method reads). ``source_lines`` are the file lines (rows).

    Raises
    ------
    DatasetError
        Naming the file line (or row), the column and the value: e.g. right-censored data (``CENS = -1``), an
        ADM value missing from ``adm``, or any rule of :func:`read_nonmem`.

    Examples
    --------
    >>> import pandas as pd
    >>> from pkpd.io import from_monolix
    >>> mlx = pd.DataFrame({"ID": [1, 1, 1], "TIME": [0, 1, 4], "AMT": [100, ".", "."], "ADM": [1, ".", "."],
    ...                     "Y": [".", 3.2, 1.1], "YTYPE": [".", 1, 1]})
    >>> from_monolix(mlx, adm={1: "DEPOT"}, ytype={1: "CENTRAL"}).events[["TIME", "EVID", "AMT", "CMT", "DV"]]
       TIME  EVID    AMT      CMT   DV
    0   0.0     1  100.0    DEPOT  NaN
    1   1.0     0    0.0  CENTRAL  3.2
    2   4.0     0    0.0  CENTRAL  1.1
    """
    if isinstance(data, pd.DataFrame):
        src = _source(data, na_values, "from_monolix")
    elif isinstance(data, (str, Path)):
        missing, _ = _na_option(na_values)
        names, columns, lines, source, _, decimal_comma = _read_file(Path(data), frozenset("#"), None,
                                                                     missing | MISSING_TEXT)
        src = _Source(pd.DataFrame(dict(zip(names, columns))), lines, source, na_values, decimal_comma)
    else:
        raise DatasetError(f"from_monolix takes a file path or a DataFrame, not {type(data).__name__}")
    n = len(src.frame)
    found = {}
    for name in src.names:
        key = MONOLIX.get(str(name).strip().upper())
        if key is None:
            continue
        if key in found:
            raise DatasetError(f"{src.what}, column {name}: it holds the same data item as column {found[key]!r} "
                               f"({key}); expected one of them")
        found[key] = name
    for required in ("ID", "TIME"):
        if required not in found:
            raise DatasetError(f"{src.what}: column {required} is missing (the columns are "
                               f"{', '.join(map(str, src.names))}); expected a Monolix column {required}")
    if "AMT" not in found and "DV" not in found:
        raise DatasetError(f"{src.what}: columns AMT and Y are both missing; expected doses (AMT), observations (Y) or both")
    if "RATE" in found and "TINF" in found:
        raise DatasetError(f"{src.what}, column {found['TINF']}: both RATE and TINF are given; expected one of them")
    if "CMT" in found and "ADM" in found:
        raise DatasetError(f"{src.what}, column {found['ADM']}: both CMT and ADM are given; expected one of them")

    def num(key, expected):
        return src.numbers(found[key], expected) if key in found else np.full(n, np.nan)

    t = num("TIME", "a time")
    amt = num("AMT", "a dose amount (or '.')")
    y = num("DV", "an observation (or '.')")
    evid = num("EVID", "an event type 0-4")
    mdv = num("MDV", "0 or 1")
    tinf = num("TINF", "an infusion duration (or '.')")
    cens = num("CENS", "0, 1 (left-censored) or -1 (right-censored)")
    _check(src, cens == -1, found.get("CENS"), cens, "marks a right-censored observation (above a limit)",
           "0 or 1: pkpd handles values below a limit of quantification (BLQ), not above one")
    _check(src, ~np.isnan(cens) & ~np.isin(cens, (0, 1, -1)), found.get("CENS"), cens, "is not a censoring code",
           "0 (observed) or 1 (below the limit of quantification)")
    ids = src.frame[found["ID"]].to_numpy()
    amount = np.where(np.isnan(amt), 0.0, amt)
    if "EVID" in found:
        is_dose = np.isin(evid, (1, 4)) | (np.isnan(evid) & (amount != 0))
        is_obs = ~is_dose
    else:
        is_dose = amount != 0
        is_obs = ~is_dose | (~np.isnan(y) & (np.isnan(mdv) | (mdv == 0)))

    # the dose compartment: ADM through adm=, or CMT
    dose_cmt = np.zeros(n, dtype=object)
    if "ADM" in found:
        values = src.frame[found["ADM"]].to_numpy(dtype=object)
        codes = src.numbers(found["ADM"], "an administration type (a number)")
        for i in np.flatnonzero(is_dose):
            v = codes[i]
            key = int(v) if not np.isnan(v) and v == int(v) else v
            if adm is not None:
                if key not in adm:
                    src.fail(i, found["ADM"], values[i], "is not an administration type in adm=",
                             f"one of {', '.join(repr(k) for k in adm)}")
                dose_cmt[i] = adm[key]
            else:
                dose_cmt[i] = 0 if np.isnan(v) else key
    elif "CMT" in found:
        dose_cmt = src.frame[found["CMT"]].to_numpy(dtype=object)
    obs_cmt = np.zeros(n, dtype=object)
    dvid = None
    if "YTYPE" in found:
        values = src.frame[found["YTYPE"]].to_numpy(dtype=object)
        codes = src.numbers(found["YTYPE"], "an observation type (a number)")
        if ytype is not None:
            for i in np.flatnonzero(is_obs & ~np.isnan(y)):
                v = codes[i]
                key = int(v) if not np.isnan(v) and v == int(v) else v
                if key not in ytype:
                    src.fail(i, found["YTYPE"], values[i], "is not an observation type in ytype=",
                             f"one of {', '.join(repr(k) for k in ytype)}")
                obs_cmt[i] = ytype[key]
        else:
            dvid = codes
    elif "CMT" in found:
        obs_cmt = src.frame[found["CMT"]].to_numpy(dtype=object)
    elif ytype is not None:
        raise DatasetError(f"{src.what}: ytype= is given but there is no YTYPE column; expected one")
    if adm is not None and "ADM" not in found:
        raise DatasetError(f"{src.what}: adm= is given but there is no ADM column; expected one")

    rate = num("RATE", "an infusion rate (or '.')")
    if "TINF" in found:
        rate = np.where(~np.isnan(tinf) & (tinf > 0), amount / np.where(tinf > 0, tinf, 1.0), np.nan)
    used = set(found.values())
    covs = _covariates(src, None, used, "from_monolix")
    for clash in ("BLQ", "LLOQ", "DVID"):
        if clash in covs and ((clash != "DVID" and "CENS" in found) or (clash == "DVID" and dvid is not None)):
            raise DatasetError(f"{src.what}, column {clash}: from_monolix makes this column from "
                               f"{'CENS' if clash != 'DVID' else 'YTYPE'}; expected only one of them")

    pos = np.arange(n, dtype=float)
    k_obs, k_dose = np.flatnonzero(is_obs), np.flatnonzero(is_dose)
    passed = {}
    for key in ("II", "ADDL", "SS"):
        if key in found:
            passed[key] = num(key, f"a value of {key} (or '.')")
    observations = {"_order": pos[k_obs], "ID": ids[k_obs], "TIME": t[k_obs], "DV": y[k_obs], "CMT": obs_cmt[k_obs]}
    if "EVID" in found:
        observations["EVID"] = evid[k_obs]
        observations["AMT"] = amount[k_obs]
    if "MDV" in found:
        observations["MDV"] = np.where(np.isnan(mdv[k_obs]) & ~np.isnan(y[k_obs]), 0, mdv[k_obs])
    if dvid is not None:
        observations["DVID"] = dvid[k_obs]
    if "CENS" in found:
        blq = np.where(np.isnan(cens), 0, cens)[k_obs]
        observations["BLQ"] = blq
        observations["LLOQ"] = np.where(blq == 1, y[k_obs], np.nan)
    doses = {"_order": pos[k_dose] + 0.5, "ID": ids[k_dose], "TIME": t[k_dose], "AMT": amount[k_dose],
             "CMT": dose_cmt[k_dose], "EVID": evid[k_dose] if "EVID" in found else np.ones(len(k_dose)),
             "MDV": np.ones(len(k_dose))}
    if "RATE" in found or "TINF" in found:
        doses["RATE"] = rate[k_dose]
    for key, values in passed.items():
        doses[key] = values[k_dose]
    if "CENS" in found:
        doses["BLQ"] = np.zeros(len(k_dose))
    labels = {canonical: found[key] for key, canonical in (("ID", "ID"), ("TIME", "TIME"), ("AMT", "AMT"), ("DV", "DV"),
                                                            ("EVID", "EVID"), ("MDV", "MDV"), ("II", "II"),
                                                            ("ADDL", "ADDL"), ("SS", "SS"), ("RATE", "RATE"))
              if key in found and found[key] != canonical}
    translate = {found[k]: ("DV" if k == "DV" else k) for k in found}
    declared = _units(units, translate)
    if "TINF" in found and ("AMT" in declared or "TIME" in declared):
        declared["RATE"] = f"{declared.get('AMT', 'mg')}/{declared.get('TIME', 'h')}"
    return _assemble(src, [(k_obs, observations), (k_dose, doses)], covs, declared, mw, labels)
