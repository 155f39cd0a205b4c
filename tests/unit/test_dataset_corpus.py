"""The dataset corpus (issue 15): data the way real users have it, on every path.

Every file of ``tests/corpus/files/`` goes through :func:`pkpd.read_nonmem`, and the cases that ask for it
through :func:`pkpd.simulate` and :func:`pkpd.estimation.nca`, on the Dataset read from the file and on the file's
text cells as a DataFrame. Each outcome is exactly the one ``tests/corpus/manifest.toml`` gives: accepted
with the facts listed, or one :class:`~pkpd.DatasetError` of one line naming the line (or row) and the
column. The generator ``tests/corpus/make_corpus.py`` must reproduce the files byte for byte.
"""

import csv
import importlib.util
import io
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd import DatasetError
from pkpd.models import OneCompartment, OneCompartmentOral

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
FILES = CORPUS / "files"
CASES = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))["case"]
MODELS = {"OneCompartment": (OneCompartment, {"CL": 5.0, "V": 50.0}),
          "OneCompartmentOral": (OneCompartmentOral, {"CL": 5.0, "V": 50.0, "KA": 1.0})}
CATEGORIES = ("ignore", "separators", "encodings", "missing", "ids", "columns", "overflow", "resources")

# a parser warning or numeric RuntimeWarning while reading is a bug (data silently lost or garbled)
pytestmark = [
    pytest.mark.filterwarnings("error::pandas.errors.ParserWarning"),
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]


def _ids(case):
    return [c["file"] for c in case]


def _frame(path: Path) -> pd.DataFrame:
    """The file's cells as text, as a user reading it with the csv module (duplicate names kept)."""
    rows = [r for r in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))) if r]
    return pd.DataFrame(rows[1:], columns=rows[0], dtype=object)


def _read(case):
    return pkpd.read_nonmem(FILES / case["file"], **case.get("options", {}))


def _expect(case, path_key):
    """The expected outcome on a path (simulate, nca): its own keys, the others from the case."""
    spec = dict(case.get(path_key) or {})
    for key in ("outcome", "line", "column", "message"):
        if key not in spec and key in case:
            spec[key] = case[key]
    return spec


def _assert_rejected(err: DatasetError, expect, where: str):
    """One line, naming ``where`` (file line, DataFrame row or header), the column and the message fragment."""
    message = str(err)
    assert "\n" not in message, message
    assert where in message, f"{where!r} not in {message!r}"
    if expect.get("column"):
        assert f"column {expect['column']}" in message, message
    assert expect["message"] in message, message


def _where_in_file(case, expect):
    line = expect["line"]
    return f"{case['file']} line {line}"


def _where_in_frame(expect):
    """A header problem names the DataFrame's columns; a record is row N-1 (or 'record N-1' with its ID/TIME)."""
    line = expect["line"]
    return "DataFrame columns" if line == 1 else f"{line - 1}"


def _assert_where_in_frame(err, expect):
    where = _where_in_frame(expect)
    message = str(err)
    if where == "DataFrame columns":
        _assert_rejected(err, expect, where)
    else:
        assert f"row {where}," in message or f"record {where} (" in message, message
        _assert_rejected(err, expect, where)


# ---- the corpus itself ---------------------------------------------------------------------------------
def test_manifest_covers_every_file_once_and_every_category():
    names = [c["file"] for c in CASES]
    assert len(names) == len(set(names)), [n for n, k in Counter(names).items() if k > 1]
    assert sorted(names) == sorted(p.name for p in FILES.iterdir())
    assert len(CASES) >= 60
    counts = Counter(c["category"] for c in CASES)
    assert set(counts) == set(CATEGORIES), counts
    for case in CASES:
        assert case["outcome"] in ("accept", "reject"), case["file"]
        assert case["about"], case["file"]


def test_generator_reproduces_the_files(tmp_path):
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write(tmp_path)
    made = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    shipped = {p.name: p.read_bytes() for p in FILES.iterdir()}
    assert made.keys() == shipped.keys()
    differ = [name for name in made if made[name] != shipped[name]]
    assert not differ, f"regenerate with python tests/corpus/make_corpus.py: {differ}"


# ---- read_nonmem: every case ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_read_nonmem(case):
    if case["outcome"] == "reject":
        with pytest.raises(DatasetError) as info:
            _read(case)
        _assert_rejected(info.value, case, _where_in_file(case, case))
        return
    ds = _read(case)
    events = ds.events
    assert len(ds) == case["subjects"]
    assert len(events) == case["records"]
    if "ids" in case:
        assert ds.ids.tolist() == case["ids"]
        if all(isinstance(i, int) for i in case["ids"]):
            assert events["ID"].dtype == np.int64  # exact, not through float64
        else:
            assert not pd.api.types.is_numeric_dtype(events["ID"].dtype)
    if "covariates" in case:
        assert ds.covariates == case["covariates"]
    lines = ds.source_lines.tolist()
    for fact in case.get("values", []):
        value = events[fact["column"]].iloc[lines.index(fact["line"])]
        if isinstance(fact["value"], float) and math.isnan(fact["value"]):
            assert pd.isna(value), (fact, value)
        else:
            assert value == fact["value"], (fact, value)


# ---- simulate: the Dataset read from the file, and the file's cells as a DataFrame ----------------------
SIMULATE = [c for c in CASES if "simulate" in c]


def _simulate(case, data):
    cls, params = MODELS[case["simulate"]["model"]]
    return pkpd.simulate(cls(), data, params)


def _check_prediction(case, res):
    assert len(res) == case["records"]
    for name in res.to_frame().columns.drop(["ID", "TIME"]):
        assert np.isfinite(res[name]).all(), name


@pytest.mark.parametrize("case", SIMULATE, ids=_ids(SIMULATE))
def test_simulate(case):
    expect = _expect(case, "simulate")
    from_file = None
    if case["outcome"] == "accept":
        ds = _read(case)
        if expect["outcome"] == "accept":
            from_file = _simulate(case, ds)
            _check_prediction(case, from_file)
            assert from_file.id.tolist() == ds.events["ID"].tolist()
        else:
            with pytest.raises(DatasetError) as info:
                _simulate(case, ds)
            _assert_rejected(info.value, expect, _where_in_file(case, expect))
    if not case.get("frame"):
        return
    frame = _frame(FILES / case["file"])
    before = frame.copy(deep=True)
    if expect["outcome"] == "accept":
        res = _simulate(case, frame)
        _check_prediction(case, res)
        # one reading for files and tables: the same subjects, times and predictions
        assert res.id.tolist() == from_file.id.tolist()
        pd.testing.assert_frame_equal(res.to_frame(), from_file.to_frame())
    else:
        with pytest.raises(DatasetError) as info:
            _simulate(case, frame)
        _assert_where_in_frame(info.value, expect)
    pd.testing.assert_frame_equal(frame, before)


# ---- nca -----------------------------------------------------------------------------------------------
NCA = [c for c in CASES if "nca" in c]


@pytest.mark.parametrize("case", NCA, ids=_ids(NCA))
def test_nca(case):
    expect = _expect(case, "nca")
    from_file = None
    if case["outcome"] == "accept":
        ds = _read(case)
        if expect["outcome"] == "accept":
            from_file = pkpd.nca(ds)
            assert from_file["ID"].tolist() == ds.ids.tolist()
        else:
            with pytest.raises(DatasetError) as info:
                pkpd.nca(ds)
            _assert_rejected(info.value, expect, _where_in_file(case, expect))
    if not case.get("frame"):
        return
    frame = _frame(FILES / case["file"])
    before = frame.copy(deep=True)
    if expect["outcome"] == "accept":
        res = pkpd.nca(frame)
        pd.testing.assert_frame_equal(res, from_file)
    else:
        with pytest.raises(DatasetError) as info:
            pkpd.nca(frame)
        _assert_where_in_frame(info.value, expect)
    pd.testing.assert_frame_equal(frame, before)


# ---- resource bounds -----------------------------------------------------------------------------------
def test_addl_expansion_stops_at_the_last_output():
    """ADDL = 1e8 every 12 h, outputs up to 48 h: a few copies expanded, the same predictions as ADDL = 4."""
    from pkpd.engine._schedule import compile_schedule

    ds = pkpd.read_nonmem(FILES / "res_addl_1e8.csv")
    model = OneCompartment()
    dosing = model.dosing_matrices(model.resolve_params({"CL": 5.0, "V": 50.0})[1], 1)
    events = ds.events
    schedule = compile_schedule(events, model, np.zeros(len(events), np.int64), dosing)
    assert len(schedule.inp_time) <= 6
    few = events.assign(ADDL=np.where(events["ADDL"] > 0, 4, 0))
    np.testing.assert_allclose(pkpd.simulate(model, ds, {"CL": 5.0, "V": 50.0})["CP"],
                               pkpd.simulate(model, few, {"CL": 5.0, "V": 50.0})["CP"], rtol=1e-12)
    regimen = model.simulate(pkpd.Bolus(100, ii=12, addl=100_000_000), [0, 24, 48], {"CL": 5.0, "V": 50.0})
    assert np.isfinite(regimen["CP"]).all()


def test_memory_estimate_refuses_before_allocating(monkeypatch):
    """With a 1 MiB limit, 20 000 hourly doses up to 20 000 h are refused up front, naming the ADDL record."""
    from pkpd.engine import _schedule

    monkeypatch.setattr(_schedule, "MEMORY_LIMIT", 1 << 20)
    frame = pd.DataFrame({"ID": 1, "TIME": [0.0, 1.0, 20_000.0], "AMT": [100.0, 0, 0], "II": [1.0, 0, 0],
                          "ADDL": [20_000, 0, 0]})
    with pytest.raises(DatasetError, match=r"row 1, column ADDL: value 20000 implies 20000 additional doses"):
        pkpd.simulate(OneCompartment(), frame, {"CL": 5.0, "V": 50.0})
    monkeypatch.setattr(_schedule, "MEMORY_LIMIT", 1 << 30)
    assert np.isfinite(pkpd.simulate(OneCompartment(), frame, {"CL": 5.0, "V": 50.0})["CP"]).all()


def test_memory_estimate_is_not_low():
    """The estimate is at least the peak traced allocation of a closed-form run with many doses."""
    import tracemalloc

    from pkpd.engine._schedule import schedule_bytes

    n = 50_000
    frame = pd.DataFrame({"ID": 1, "TIME": [0.0, 1.0, float(n)], "AMT": [100.0, 0, 0], "II": [1.0, 0, 0],
                          "ADDL": [n, 0, 0]})
    ds = pkpd.read_nonmem(frame)
    tracemalloc.start()
    try:
        pkpd.simulate(OneCompartment(), ds, {"CL": 5.0, "V": 50.0}, method="analytic")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert schedule_bytes(n + 1, 3, 1) >= peak * 0.8
