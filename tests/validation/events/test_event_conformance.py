"""Event-semantics conformance: NONMEM records in, hand-derived central concentrations out.

Reference: NONMEM/PREDPP event semantics (NONMEM Users Guide, Part V "Introductory Guide", and Part VI
"PREDPP Guide": data items EVID, AMT, RATE, II, ADDL, SS, CMT; ALAG/F/R/D additional PK parameters),
as summarised in the module docstring of ``pkpd/engine/_schedule.py``. Every expected value is the
closed-form formula written next to it in ``cases.toml`` (generated, with the CSVs, by
``derive_expected.py``, which evaluates those formulas without using pkpd).

Each case runs through ``pkpd.engine.simulation.simulate`` with the closed form (relative tolerance 1e-9) and with
the ODE engine (rtol 1e-10, atol 1e-12; relative tolerance 1e-6). Expected zeros are checked to 1e-12.
"""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pkpd.models import pk
from pkpd.io import read_nonmem
from pkpd.engine.simulation import simulate

HERE = Path(__file__).resolve().parent
CANONICAL = ["ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS"]


with open(HERE / "cases.toml", "rb") as fh:
    CASES = tomllib.load(fh)["case"]

# Cases where pkpd is known to disagree with the hand derivation: name -> reason (kept, strict xfail).
KNOWN_FAILURES: dict[str, str] = {}

TOLERANCE = {"analytic": 1e-9, "ode": 1e-6}
ZERO_TOL = 1e-12


def read_with_pandas(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, na_values=["."], keep_default_na=False)
    for c in ("AMT", "RATE", "CMT", "II", "ADDL", "SS"):
        frame[c] = frame[c].fillna(0)
    return frame[CANONICAL].astype({"EVID": int, "CMT": int, "ADDL": int, "SS": int})


def events_of(case) -> pd.DataFrame:
    return read_nonmem(HERE / case["file"]).events


def expected_of(case) -> np.ndarray:
    frame = pd.read_csv(HERE / case["file"], dtype={"EXPECTED": str}, keep_default_na=False)
    return np.array([float(v) if v.strip() else np.nan for v in frame["EXPECTED"]])


def params_of(case):
    if "params_by_id" in case:
        return pd.DataFrame(case["params_by_id"])
    return dict(case["params"])


def _params(cases):
    out = []
    for case in cases:
        for method in ("analytic", "ode"):
            marks = []
            if case["name"] in KNOWN_FAILURES:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[case["name"]]))
            out.append(pytest.param(case, method, id=f"{case['name']}-{method}", marks=marks))
    return out


@pytest.mark.parametrize("case, method", _params(CASES))
def test_case(case, method):
    events = events_of(case)
    expected = expected_of(case)
    assert len(events) == len(expected)
    model = getattr(pk, case["model"])()
    options = {"rtol": 1e-10, "atol": 1e-12} if method == "ode" else {}
    result = simulate(model, events, params_of(case), method=method, **options)
    cp = np.asarray(result["CP"], dtype=float)
    assert cp.shape == expected.shape
    checked = ~np.isnan(expected)
    assert checked.any()
    rel = TOLERANCE[method]
    bad = []
    for i in np.nonzero(checked)[0]:
        want, got = float(expected[i]), float(cp[i])
        ok = abs(got) <= ZERO_TOL if want == 0 else abs(got - want) <= rel * abs(want)
        if not ok:
            row = events.iloc[i]
            bad.append(
                f"row {i + 1} (ID {row['ID']}, TIME {float(row['TIME']):g}, EVID {int(row['EVID'])}): "
                f"expected {want!r}, got {got!r} (rel. error {abs(got - want) / abs(want) if want else got:.3g})"
            )
    assert not bad, f"{case['name']} ({method}):\n" + "\n".join(bad)


def test_at_least_28_cases_with_descriptions_and_derivations():
    assert len(CASES) >= 28
    assert len({c["name"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert (HERE / case["file"]).is_file(), case["file"]
        assert case["model"] in ("OneCompartment", "OneCompartmentOral")
        assert case["description"].strip() and "CP = " in case["derivation"]


def test_generated_files_are_current():
    """The CSVs and cases.toml are exactly what derive_expected.py writes (no hand edits, no stale values)."""
    spec = importlib.util.spec_from_file_location("_derive_expected", HERE / "derive_expected.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.outputs().items():
        assert (HERE / name).read_text() == text, f"{name} is out of date: rerun derive_expected.py"


def test_reader_agrees_with_plain_pandas():
    """read_nonmem's canonical table equals a plain pandas reading ('.' = 0) for every case file."""
    for case in CASES:
        path = HERE / case["file"]
        got = read_nonmem(path).events[CANONICAL].reset_index(drop=True)
        want = read_with_pandas(path)
        for c in CANONICAL:
            np.testing.assert_array_equal(got[c].to_numpy(float), want[c].to_numpy(float), err_msg=f"{case['name']}: {c}")
