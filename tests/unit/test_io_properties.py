"""Property tests for NONMEM-style I/O.

* Valid event tables (several IDs, boluses, infusions incl. modelled rates, ADDL/II, steady state,
  observations, resets, covariates) survive ``write_nonmem -> read_nonmem`` exactly.
* Malformed tables (random values injected into random cells, random columns deleted) either read
  or raise DatasetError -- never anything else -- and the caller's DataFrame is never modified.
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkpd.errors import DatasetError
from pkpd.io import read_nonmem, write_nonmem

# a parser warning or numeric RuntimeWarning during reading is a bug (data silently lost or garbled)
pytestmark = [
    pytest.mark.filterwarnings("error::pandas.errors.ParserWarning"),
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-9, max_value=1e6, allow_nan=False, allow_infinity=False)
value = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
NAMES = ["DEPOT", "CENTRAL", "PERIPH"]


@st.composite
def records(draw, cmt_names: bool):
    """One record: observation, missing observation, bolus, infusion, SS constant infusion or reset."""
    kind = draw(st.sampled_from(["obs", "obs", "obs", "missing", "bolus", "infusion", "ss_const", "reset"]))
    cmt = draw(st.sampled_from(NAMES) if cmt_names else st.integers(1, 3))
    r = dict(EVID=0, AMT=0.0, RATE=0.0, CMT=None, II=0.0, ADDL=0, SS=0, MDV=0, DV=np.nan)
    if kind == "obs":
        r.update(DV=draw(value), CMT=draw(st.none() | st.just(cmt)))
    elif kind == "missing":
        r.update(EVID=draw(st.sampled_from([0, 2])), MDV=1)
    elif kind == "reset":
        r.update(EVID=3, MDV=1)
    elif kind == "ss_const":
        r.update(EVID=1, MDV=1, RATE=draw(positive), SS=draw(st.sampled_from([1, 2])), CMT=cmt)
    else:
        ii = draw(st.sampled_from([0.0, 0.0]) | positive)
        ss = draw(st.sampled_from([0, 1, 2])) if ii > 0 else 0
        rate = 0.0 if kind == "bolus" else draw(positive | st.sampled_from([-1.0, -2.0]))
        r.update(
            EVID=draw(st.sampled_from([1, 1, 4])), MDV=1, AMT=draw(positive), RATE=rate, CMT=cmt, II=ii,
            ADDL=draw(st.integers(0, 20)) if ii > 0 else 0, SS=ss,
        )
    return r


@st.composite
def event_tables(draw):
    """A random valid NONMEM-style DataFrame (not necessarily canonical: CMT may be missing)."""
    n_ids = draw(st.integers(1, 4))
    string_ids = draw(st.booleans())
    raw_ids = draw(st.lists(st.integers(1, 10_000), min_size=n_ids, max_size=n_ids, unique=True))
    ids = [f"S{i}" for i in raw_ids] if string_ids else raw_ids
    cmt_names = draw(st.booleans())
    rows = []
    for id_ in ids:
        n = draw(st.integers(1, 8))
        times = sorted(draw(st.lists(finite, min_size=n, max_size=n)))
        wt = draw(st.floats(30, 150) | st.just(np.nan))
        sex = draw(st.sampled_from(["F", "M"]))
        for t in times:
            rec = draw(records(cmt_names))
            rows.append(dict(ID=id_, TIME=t, **rec, WT=wt, AGE=draw(st.integers(18, 90)), SEX=sex))
    frame = pd.DataFrame(rows)
    if draw(st.booleans()):  # sometimes lower-case names and a shuffled column order
        cols = list(frame.columns)
        order = draw(st.permutations(cols))
        frame = frame[list(order)].rename(columns=lambda c: c.lower() if c in ("TIME", "AMT", "DV") else c)
    return frame


@SETTINGS
@given(event_tables())
def test_write_read_round_trip(table):
    snapshot = table.copy(deep=True)
    ds = read_nonmem(table)
    pd.testing.assert_frame_equal(table, snapshot)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.csv"
        write_nonmem(ds, path)
        back = read_nonmem(path)
    assert back == ds
    pd.testing.assert_frame_equal(back.events, ds.events, check_exact=True)
    # the canonical table is a fixed point of reading
    assert read_nonmem(ds.events) == ds


# ---- malformed input ---------------------------------------------------------------------------
junk = st.one_of(
    st.text(max_size=8),
    st.text(alphabet="0123456789.-+eE abcNA", max_size=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.none(),
    st.sampled_from([".", "", "-1", "-2", "1e400", "nan", "NA", "#", "DEPOT", "2.5", " 3 "]),
)


@st.composite
def malformed_tables(draw):
    table = draw(event_tables()).astype(object)
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, len(table) - 1))
        j = draw(st.integers(0, table.shape[1] - 1))
        table.iat[i, j] = draw(junk)
    drop = draw(st.lists(st.sampled_from(list(table.columns)), max_size=3, unique=True))
    return table.drop(columns=drop)


def _reads_or_dataset_error(source):
    try:
        ds = read_nonmem(source)
    except DatasetError as err:
        assert str(err)
        return None
    # whatever was accepted is a valid canonical table
    e = ds.events
    assert not e[["EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS", "MDV"]].isna().any().any()
    assert np.isfinite(e["TIME"].to_numpy()).all()
    return ds


@SETTINGS
@given(malformed_tables())
def test_malformed_frames_raise_only_dataset_error(table):
    snapshot = table.copy(deep=True)
    _reads_or_dataset_error(table)
    pd.testing.assert_frame_equal(table, snapshot)


@SETTINGS
@given(malformed_tables(), st.booleans())
def test_malformed_files_raise_only_dataset_error(table, whitespace):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "junk.csv"
        if whitespace:
            text = "\n".join(" ".join(str(v) for v in row) for row in [table.columns, *table.itertuples(index=False)])
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        else:
            table.to_csv(path, index=False, na_rep=".")
        _reads_or_dataset_error(path)


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_dataset_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bytes.csv"
        path.write_bytes(b"ID,TIME,AMT,DV\n" + data)
        _reads_or_dataset_error(path)
