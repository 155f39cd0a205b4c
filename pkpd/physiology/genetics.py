"""Pharmacogenetics: allele function -> activity score / phenotype -> clearance multiplier.

A small, table-driven and immutable module. It turns a diplotype such as ``"*1/*2"`` into a
:class:`Phenotype` (CPIC term, activity score where CPIC defines one, and the relative enzyme
``activity`` used to scale clearance), and turns that activity into a clearance multiplier with the
fraction metabolised by the enzyme, ``fm``::

    CL_genotype / CL_normal = 1 - fm + fm * activity

It also gives allele frequencies by ancestry and samples diplotypes from them. Genes: CYP2C19, CYP2C9 and
CYP3A5 (CPIC phenotypes); CYP3A4*22 and ABCB1 C3435T are **literature effect sizes, not CPIC phenotypes**: their
:class:`Phenotype` has ``cpic=False``, no abbreviation and a descriptive ``phenotype`` string. The tables, with
their sources, are in ``pkpd/physiology/_genetics_tables.py``.

The ``activity`` values are modelling assumptions; each is listed, with its justification, in
:data:`PHENOTYPE_ACTIVITY` and in the docstring of :func:`phenotype`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations_with_replacement
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import ModelError
from .._internal.html import fields_table
from ._genetics_tables import (
    _CATEGORICAL_ALLELE_ACTIVITY,
    _CATEGORICAL_TERM,
    _CPIC_TERM,
    _CYP2C9_BY_SCORE,
    _CYP2C19_ACTIVITY,
    _CYP2C19_BY_FUNCTION,
    _CYP2C19_PM_PREVALENCE,
    _CYP3A5_ACTIVITY,
    _CYP3A5_BY_DIPLOTYPE,
    ALLELE_ACTIVITY_VALUE,
    ALLELE_FUNCTION,
    ANCESTRIES,
    GENES,
)

__all__ = [
    "GENES",
    "ALLELE_FUNCTION",
    "ALLELE_ACTIVITY_VALUE",
    "PHENOTYPE_ACTIVITY",
    "ANCESTRIES",
    "Phenotype",
    "phenotype",
    "clearance_multiplier",
    "clearance_multiplier_for",
    "genotype_covariate",
    "allele_frequencies",
    "sample_diplotypes",
]

_freeze = MappingProxyType


# ----------------------------------------------------------------------------------------------------
# Phenotype
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phenotype:
    """The phenotype of one diplotype of one gene.

    Attributes
    ----------
    gene : str
        Gene symbol, e.g. ``"CYP2C19"``.
    diplotype : str
        Normalised diplotype, alleles in ascending order (``"*1/*17"``; ``"CT"`` for ABCB1).
    activity_score : float or None
        CPIC activity score (CYP2C9 only); ``None`` where CPIC classifies by allele function
        (CYP2C19, CYP3A5) or the gene is not a CPIC gene here (CYP3A4, ABCB1).
    phenotype : str
        CPIC term (``"normal metabolizer"`` ...) or, when ``cpic`` is False, a descriptive term.
    abbreviation : str or None
        ``"UM"``, ``"RM"``, ``"NM"``, ``"IM"`` or ``"PM"``; ``None`` for non-CPIC genes.
    activity : float
        Enzyme (or transporter) activity relative to a normal metabolizer; scales clearance through
        :func:`clearance_multiplier`. A modelling assumption, see :func:`phenotype`.
    cpic : bool
        True when ``phenotype`` is a CPIC phenotype; False for literature effect sizes.

    Examples
    --------
    >>> from pkpd.physiology.genetics import phenotype
    >>> p = phenotype("CYP2C9", "*3/*1")
    >>> p.diplotype, p.activity_score, p.abbreviation, p.activity
    ('*1/*3', 1.0, 'IM', 0.5)
    """

    gene: str
    diplotype: str
    activity_score: float | None
    phenotype: str
    abbreviation: str | None
    activity: float
    cpic: bool = True

    def _repr_html_(self) -> str:
        return fields_table(self)


def _allele_key(allele: str) -> tuple[int, str]:
    match = re.fullmatch(r"\*(\d+)(.*)", allele)
    return (int(match.group(1)), match.group(2)) if match else (0, allele)


def _build_table(gene: str) -> Mapping[str, Phenotype]:
    alleles = sorted(ALLELE_FUNCTION[gene], key=_allele_key)
    table: dict[str, Phenotype] = {}
    for a, b in combinations_with_replacement(alleles, 2):
        diplotype = f"{a}{b}" if gene == "ABCB1" else f"{a}/{b}"
        score: float | None = None
        if gene == "CYP2C19":
            functions = tuple(sorted((ALLELE_FUNCTION[gene][a], ALLELE_FUNCTION[gene][b])))
            abbr = _CYP2C19_BY_FUNCTION[functions]
            activity = _CYP2C19_ACTIVITY[abbr]
        elif gene == "CYP2C9":
            values = ALLELE_ACTIVITY_VALUE[gene]
            score = values[a] + values[b]
            abbr = _CYP2C9_BY_SCORE[score]
            activity = score / 2.0
        elif gene == "CYP3A5":
            abbr = _CYP3A5_BY_DIPLOTYPE[diplotype]
            activity = _CYP3A5_ACTIVITY[abbr]
        else:
            values = _CATEGORICAL_ALLELE_ACTIVITY[gene]
            activity = (values[a] + values[b]) / 2.0
            table[diplotype] = Phenotype(gene, diplotype, None, _CATEGORICAL_TERM[gene][diplotype], None,
                                         activity, cpic=False)
            continue
        table[diplotype] = Phenotype(gene, diplotype, score, _CPIC_TERM[abbr], abbr, activity, cpic=True)
    return _freeze(table)


_TABLES: Mapping[str, Mapping[str, Phenotype]] = _freeze({g: _build_table(g) for g in GENES})

#: Relative activity (vs a normal metabolizer) of every diplotype, per gene: the values
#: :func:`phenotype` reports as ``Phenotype.activity``. See the module and :func:`phenotype` docs.
PHENOTYPE_ACTIVITY: Mapping[str, Mapping[str, float]] = _freeze(
    {g: _freeze({d: p.activity for d, p in t.items()}) for g, t in _TABLES.items()}
)


# ----------------------------------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------------------------------


def _normalise_gene(gene: Any) -> str:
    if isinstance(gene, str):
        key = gene.strip().upper()
        if key in _TABLES:
            return key
    raise ModelError(f"unknown gene {gene!r}; accepted genes: {', '.join(GENES)}")


def _accepted(gene: str) -> str:
    return ", ".join(sorted(ALLELE_FUNCTION[gene], key=_allele_key))


def _example(gene: str) -> str:
    return "'CT' or 'C/T'" if gene == "ABCB1" else "'*1/*2'"


def _parse(gene: str, diplotype: Any) -> str:
    """Normalised diplotype string of ``diplotype`` for ``gene`` (which is already normalised)."""
    if not isinstance(diplotype, str):
        raise ModelError(
            f"a {gene} diplotype must be a string such as {_example(gene)}, not {diplotype!r}"
        )
    text = diplotype.strip()
    # optional gene prefix: "CYP2C19*1/*2", "CYP2C19 *1/*2", "ABCB1 CT", "ABCB1:C/T"
    prefix = re.match(r"(?i)(CYP\w+?|ABCB1)(?=[\s:*]|$)[\s:]*", text)
    if prefix:
        named = prefix.group(1).upper()
        if named != gene:
            raise ModelError(f"diplotype {diplotype!r} names gene {named} but the gene is {gene}")
        text = text[prefix.end():]
    if gene == "ABCB1":
        text = re.sub(r"^(C3435T|3435)[\s:]*", "", text, flags=re.I)  # optional "C3435T " / "3435" label
        parts = [p.strip().upper() for p in text.split("/")] if "/" in text else list(text.replace(" ", "").upper())
        if len(parts) != 2 or not all(parts):
            raise ModelError(
                f"malformed ABCB1 C3435T genotype {diplotype!r}; expected two alleles such as 'CC', 'CT', "
                f"'TT' or 'C/T' (accepted alleles: {_accepted(gene)})"
            )
    else:
        parts = [p.strip() for p in text.split("/")]
        if len(parts) != 2 or not all(re.fullmatch(r"\*\d+[A-Za-z]?", p) for p in parts):
            raise ModelError(
                f"malformed {gene} diplotype {diplotype!r}; expected two star alleles separated by '/', "
                f"such as '*1/*2' (accepted alleles: {_accepted(gene)})"
            )
    for allele in parts:
        if allele not in ALLELE_FUNCTION[gene]:
            raise ModelError(
                f"unknown {gene} allele {allele!r} in {diplotype!r}; accepted alleles: {_accepted(gene)}"
            )
    a, b = sorted(parts, key=_allele_key)
    return f"{a}{b}" if gene == "ABCB1" else f"{a}/{b}"


# ----------------------------------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------------------------------


def phenotype(gene: str, diplotype: str) -> Phenotype:
    """The phenotype, activity score and relative activity of a diplotype.

    Parameters
    ----------
    gene : str
        One of ``CYP2C19``, ``CYP2C9``, ``CYP3A5``, ``CYP3A4``, ``ABCB1`` (case-insensitive).
    diplotype : str
        Two alleles, in either order, e.g. ``"*2/*1"``, ``"*1 / *2"``, ``"CYP2C19*1/*2"``; for ABCB1
        the C3435T genotype ``"CC"``, ``"CT"``, ``"TC"``, ``"C/T"`` or ``"TT"``.

    Returns
    -------
    Phenotype
        With the diplotype normalised (alleles in ascending order).

    Raises
    ------
    ModelError
        Unknown gene, unknown allele or malformed diplotype; the message names the offending item
        and lists what is accepted.

    Notes
    -----
    Phenotype assignment (sources in docs/references.md):

    - CYP2C19 (CPIC, by allele function): *17/*17 UM; *1/*17 RM; *1/*1 NM; *1/*2, *1/*3, *2/*17,
      *3/*17 IM; *2/*2, *2/*3, *3/*3 PM. ``activity_score`` is None (CPIC uses no CYP2C19 score).
    - CYP2C9 (CPIC 2020): activity score = sum of allele values (*1 1, *2 0.5 [M], *3 0);
      AS 2 NM; 1.5 and 1 IM; 0.5 and 0 PM.
    - CYP3A5 (CPIC tacrolimus): *1/*1 NM, *1/*3 IM, *3/*3 PM.
    - CYP3A4*22 and ABCB1 C3435T: literature effect sizes, not CPIC phenotypes (``cpic=False``).

    ``activity`` (relative to a normal metabolizer; **modelling assumptions**):

    - CYP2C9: AS / 2 (gene-dose additivity of CPIC allele values).
    - CYP2C19: UM 1.5, RM 1.25, NM 1, IM 0.35, PM 0. PM: no functional enzyme. IM 0.35 with a
      single fm = 0.75 reproduces the clobazam label (N-desmethylclobazam AUC 3-5x in PM -> 4.0x;
      ~2x in IM -> 1.95x; FDA label [S]). RM/UM from the non-CPIC activity
      convention *17 = 1.5 ([S] opicalc.com): 2.5/2 and 3/2; low confidence.
    - CYP3A5: relative to a *1/*1 expresser: *1/*1 1, *1/*3 0.5, *3/*3 0.
    - CYP3A4: *1/*1 1, *1/*22 0.65 (35 % lower: mid-range of 20-50 %, Elens 2011 [M]),
      *22/*22 0.3 (additive extrapolation).
    - ABCB1 (P-gp expression, not a metabolic clearance): CC 1, CT 0.75, TT 0.5 (≈ 2-fold lower
      duodenal P-gp in TT, Hoffmeyer 2000 [M]); low confidence.

    Examples
    --------
    >>> from pkpd.physiology.genetics import phenotype
    >>> p = phenotype("CYP2C19", "*17 / *1")
    >>> p.diplotype, p.phenotype, p.abbreviation, p.activity
    ('*1/*17', 'rapid metabolizer', 'RM', 1.25)
    >>> phenotype("cyp2c9", "CYP2C9*2/*3").phenotype
    'poor metabolizer'
    >>> phenotype("CYP2C9", "*2/*3").activity_score
    0.5
    >>> phenotype("CYP3A5", "*3/*1").abbreviation
    'IM'
    >>> p = phenotype("ABCB1", "TC")
    >>> p.diplotype, p.phenotype, p.activity, p.cpic
    ('CT', 'intermediate P-gp expression', 0.75, False)
    """
    name = _normalise_gene(gene)
    return _TABLES[name][_parse(name, diplotype)]


def _as_float_array(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ModelError(f"{name} must be a number or an array of numbers, not {value!r}") from None
    return arr


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> str:
    if arr.ndim == 0:
        return f"{arr.item()!r}"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = index[0] if len(index) == 1 else index
    return f"{arr[index].item()!r} (at index {where})"


def clearance_multiplier(fm: Any, activity: Any) -> Any:
    """Clearance relative to a normal metabolizer: ``1 - fm + fm * activity``.

    Parameters
    ----------
    fm : float or array_like
        Fraction of the drug's clearance (in a normal metabolizer) carried by the enzyme, in [0, 1].
    activity : float or array_like
        Enzyme activity relative to a normal metabolizer (``Phenotype.activity``), >= 0.

    Returns
    -------
    float or numpy.ndarray
        A float when both inputs are scalars, else the broadcast array.

    Raises
    ------
    ModelError
        If ``fm`` is outside [0, 1] or not finite, ``activity`` is negative or not finite, or the
        shapes do not broadcast; the message names the offending value.

    Examples
    --------
    >>> from pkpd.physiology.genetics import clearance_multiplier
    >>> clearance_multiplier(0.85, 0.0)       # phenytoin, CYP2C9 poor metabolizer
    0.15000000000000002
    >>> clearance_multiplier([0.0, 0.5, 1.0], 0.5)
    array([1.  , 0.75, 0.5 ])
    >>> clearance_multiplier(1.2, 1.0)
    Traceback (most recent call last):
    ...
    pkpd.errors.ModelError: fm must lie in [0, 1]; got 1.2
    """
    fm_arr = _as_float_array(fm, "fm")
    act_arr = _as_float_array(activity, "activity")
    bad = ~np.isfinite(fm_arr) | (fm_arr < 0) | (fm_arr > 1)
    if bad.any():
        raise ModelError(f"fm must lie in [0, 1]; got {_first_bad(fm_arr, bad)}")
    bad = ~np.isfinite(act_arr) | (act_arr < 0)
    if bad.any():
        raise ModelError(f"activity must be finite and >= 0; got {_first_bad(act_arr, bad)}")
    try:
        out = 1.0 - fm_arr + fm_arr * act_arr
    except ValueError:
        raise ModelError(
            f"fm (shape {fm_arr.shape}) and activity (shape {act_arr.shape}) do not broadcast together"
        ) from None
    return float(out) if out.ndim == 0 else out


def clearance_multiplier_for(gene: str, diplotype: str, fm: Any) -> Any:
    """Clearance multiplier of a diplotype: ``clearance_multiplier(fm, phenotype(gene, diplotype).activity)``.

    Parameters
    ----------
    gene : str
        Gene symbol (see :func:`phenotype`).
    diplotype : str
        Diplotype (see :func:`phenotype`).
    fm : float or array_like
        Fraction of clearance carried by the gene product in a normal metabolizer, in [0, 1]. For
        ABCB1 this is the fraction of the flux (e.g. brain efflux) carried by P-gp.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> from pkpd.physiology.genetics import clearance_multiplier_for
    >>> round(clearance_multiplier_for("CYP2C9", "*3/*3", 0.85), 6)
    0.15
    >>> round(clearance_multiplier_for("CYP2C19", "*2/*2", 0.75), 6)   # N-desmethylclobazam, PM
    0.25
    """
    return clearance_multiplier(fm, phenotype(gene, diplotype).activity)


def genotype_covariate(gene: str, diplotypes: Any) -> np.ndarray:
    """Relative activity for each diplotype: a genotype covariate column for a parameter table.

    Parameters
    ----------
    gene : str
        Gene symbol (see :func:`phenotype`).
    diplotypes : str or array_like of str
        Diplotype strings (list, numpy array or pandas Series); any accepted spelling.

    Returns
    -------
    numpy.ndarray of float
        Same shape as ``diplotypes`` (0-d for a single string).

    Raises
    ------
    ModelError
        For any missing, unknown or malformed entry; the message gives its position.

    Examples
    --------
    >>> import pandas as pd
    >>> from pkpd.physiology.genetics import genotype_covariate
    >>> table = pd.DataFrame({"ID": [1, 2, 3], "CYP2C9": ["*1/*1", "*3/*1", "*3/*3"]})
    >>> genotype_covariate("CYP2C9", table["CYP2C9"])
    array([1. , 0.5, 0. ])
    """
    name = _normalise_gene(gene)
    values = diplotypes.to_numpy(dtype=object) if hasattr(diplotypes, "to_numpy") else diplotypes
    arr = np.asarray(values, dtype=object)
    flat = arr.reshape(-1)
    cache: dict[Any, float] = {}
    out = np.empty(flat.shape, dtype=float)
    for i, item in enumerate(flat):
        key = item if isinstance(item, str) else None
        if key is None or key not in cache:
            try:
                value = _TABLES[name][_parse(name, item)].activity
            except ModelError as err:
                where = f" at position {i}" if arr.ndim else ""
                raise ModelError(f"{err}{where}") from None
            cache[key] = value
        out[i] = cache[key]
    return out.reshape(arr.shape)


# ----------------------------------------------------------------------------------------------------
# Allele frequencies by ancestry
# ----------------------------------------------------------------------------------------------------


def _normalise_ancestry(ancestry: Any) -> str | None:
    if not isinstance(ancestry, str):
        return None
    key = re.sub(r"[\s_\-]+", " ", ancestry.strip().lower())
    key = key[:-1] if key.endswith("s") else key
    for name in _CYP2C19_PM_PREVALENCE:
        if name.lower() == key:
            return name
    return None


def allele_frequencies(gene: str, ancestry: str) -> dict[str, float]:
    """Allele frequencies of ``gene`` in an ancestry group, where the sources used give data.

    Only CYP2C19 has data: its poor-metabolizer (PM) prevalence by ancestry (≈ 2 % European, 13 %
    East Asian, up to 57 % Oceanian; [S] NBK379740). Under Hardy-Weinberg
    equilibrium PM prevalence = q**2, where q is the combined frequency of no-function alleles, so
    ``q = sqrt(PM prevalence)``. The split of q among *2, *3 ... and the *17 frequency are not in
    the sources used, so the result has two entries: ``"*2"`` stands for *all* no-function alleles and
    ``"*1"`` for all functional ones (*1 and *17 lumped). Sampled diplotypes therefore reproduce
    the PM / IM / NM split, never RM or UM.

    Parameters
    ----------
    gene : str
        Gene symbol. Only ``"CYP2C19"`` has data; other known genes raise :class:`ModelError`.
    ancestry : str
        ``"European"``, ``"East Asian"`` or ``"Oceanian"`` (case-insensitive, plural accepted).

    Returns
    -------
    dict
        Allele -> frequency, summing to 1.

    Raises
    ------
    ModelError
        Unknown gene, a gene without frequency data, or an ancestry without data.

    Examples
    --------
    >>> from pkpd.physiology.genetics import allele_frequencies
    >>> freq = allele_frequencies("CYP2C19", "East Asian")
    >>> {allele: round(f, 4) for allele, f in freq.items()}
    {'*1': 0.6394, '*2': 0.3606}
    >>> allele_frequencies("CYP2C19", "African")
    Traceback (most recent call last):
    ...
    pkpd.errors.ModelError: no CYP2C19 allele frequencies for ancestry 'African'; ancestries with data: European, East Asian, Oceanian
    """
    name = _normalise_gene(gene)
    if name not in ANCESTRIES:
        raise ModelError(
            f"no allele frequency data for {name} (ancestry data are available only for "
            f"{', '.join(ANCESTRIES)}); pass your own {{allele: frequency}} mapping to sample_diplotypes"
        )
    key = _normalise_ancestry(ancestry)
    if key is None:
        raise ModelError(
            f"no {name} allele frequencies for ancestry {ancestry!r}; ancestries with data: "
            f"{', '.join(ANCESTRIES[name])}"
        )
    q = math.sqrt(_CYP2C19_PM_PREVALENCE[key])
    return {"*1": 1.0 - q, "*2": q}


def _check_frequencies(gene: str, frequencies: Mapping[Any, Any]) -> tuple[list[str], np.ndarray]:
    if not frequencies:
        raise ModelError(f"allele frequencies for {gene} are empty; give {{allele: frequency}}")
    alleles: list[str] = []
    for allele in frequencies:
        canonical = allele.strip() if isinstance(allele, str) else allele
        if gene == "ABCB1" and isinstance(canonical, str):
            canonical = canonical.upper()
        if canonical not in ALLELE_FUNCTION[gene]:
            raise ModelError(
                f"unknown {gene} allele {allele!r} in the frequencies; accepted alleles: {_accepted(gene)}"
            )
        alleles.append(canonical)
    if len(set(alleles)) != len(alleles):
        raise ModelError(f"an allele appears twice in the {gene} frequencies: {list(frequencies)}")
    p = _as_float_array(list(frequencies.values()), "allele frequencies")
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise ModelError(f"allele frequency of {alleles[i]} must lie in [0, 1]; got {p[i]!r}")
    if abs(p.sum() - 1.0) > 1e-6:
        raise ModelError(f"{gene} allele frequencies must sum to 1; they sum to {p.sum():.6g}")
    order = sorted(range(len(alleles)), key=lambda i: _allele_key(alleles[i]))
    return [alleles[i] for i in order], p[order] / p.sum()


def sample_diplotypes(gene: str, ancestry: str | Mapping[str, float], n: int, rng: Any = None) -> np.ndarray:
    """Random diplotypes under Hardy-Weinberg equilibrium (two independent alleles per subject).

    Parameters
    ----------
    gene : str
        Gene symbol (see :func:`phenotype`).
    ancestry : str or mapping
        An ancestry with data (see :func:`allele_frequencies`), or your own ``{allele: frequency}``
        mapping (frequencies summing to 1), which works for every gene.
    n : int
        Number of subjects, >= 0.
    rng : numpy.random.Generator, int or None
        Random generator or seed (passed to :func:`numpy.random.default_rng`).

    Returns
    -------
    numpy.ndarray of str
        ``n`` normalised diplotypes, accepted by :func:`phenotype` and :func:`genotype_covariate`.

    Raises
    ------
    ModelError
        Unknown gene or ancestry, bad frequencies, or a bad ``n``.

    Examples
    --------
    >>> from pkpd.physiology.genetics import sample_diplotypes
    >>> sample_diplotypes("CYP2C19", "Oceanian", 4, rng=1).tolist()
    ['*2/*2', '*1/*2', '*2/*2', '*2/*2']
    >>> sample_diplotypes("CYP2C9", {"*1": 0.8, "*2": 0.1, "*3": 0.1}, 3, rng=0).tolist()
    ['*1/*1', '*1/*1', '*2/*3']
    """
    name = _normalise_gene(gene)
    if isinstance(ancestry, Mapping):
        alleles, p = _check_frequencies(name, ancestry)
    else:
        alleles, p = _check_frequencies(name, allele_frequencies(name, ancestry))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ModelError(f"n must be a non-negative integer number of subjects, not {n!r}")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    draws = np.sort(generator.choice(len(alleles), size=(int(n), 2), p=p), axis=1)
    sep = "" if name == "ABCB1" else "/"
    labels = np.array([[f"{a}{sep}{b}" for b in alleles] for a in alleles])
    return labels[draws[:, 0], draws[:, 1]] if n else np.array([], dtype=labels.dtype)
