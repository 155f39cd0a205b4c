"""Every kind of malformed dataset raises a DatasetError naming the line (or row), column and value.

Each case is checked twice: as a DataFrame ("row N", 1-based) and as a CSV file written from that
DataFrame ("line N+1": the header is line 1). The caller's DataFrame must be left unchanged.
"""

import numpy as np
import pandas as pd
import pytest

from pkpd.errors import DatasetError
from pkpd.io import read_nonmem

NaN = np.nan

# a parser warning or numeric RuntimeWarning during reading is a bug (data silently lost or garbled)
pytestmark = [
    pytest.mark.filterwarnings("error::pandas.errors.ParserWarning"),
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]


def frame(**columns):
    """A small valid table (one dose, two observations) with some columns replaced or removed."""
    base = {"ID": [1, 1, 1], "TIME": [0.0, 1.0, 2.0], "AMT": [100.0, 0.0, 0.0], "DV": [NaN, 2.0, 1.0]}
    base.update(columns)
    return pd.DataFrame({k: v for k, v in base.items() if v is not None})


# (case id, table, 1-based row of the offending record, column named in the message, value shown)
CASES = [
    ("time-text", frame(TIME=[0, "abc", 2]), 2, "TIME", "'abc'"),
    ("amt-text", frame(AMT=["ten", 0, 0]), 1, "AMT", "'ten'"),
    ("dv-text", frame(DV=[NaN, "BLQ", 1.0]), 2, "DV", "'BLQ'"),
    ("evid-text", frame(EVID=[1, "obs", 0]), 2, "EVID", "'obs'"),
    ("amt-negative", frame(AMT=[-5, 0, 0]), 1, "AMT", "-5"),
    ("time-missing", frame(TIME=[0, NaN, 2]), 2, "TIME", "'.'"),
    ("time-negative", frame(TIME=[-1.5, 1, 2]), 1, "TIME", "-1.5"),
    ("time-infinite", frame(TIME=[0, 1, np.inf]), 3, "TIME", "inf"),
    ("time-decreasing", frame(TIME=[0, 2.5, 1.25]), 3, "TIME", "1.25"),
    ("rate-without-amt", frame(AMT=[100, 0, 0], RATE=[0, 5, 0], EVID=[1, 1, 0], MDV=[1, 1, 0]), 2, "RATE", "5"),
    ("rate-invalid", frame(RATE=[-3, 0, 0]), 1, "RATE", "-3"),
    ("rate-fraction-code", frame(RATE=[-1.5, 0, 0]), 1, "RATE", "-1.5"),
    ("evid-unknown", frame(EVID=[5, 0, 0]), 1, "EVID", "5"),
    ("evid-fraction", frame(EVID=[1, 0.5, 0]), 2, "EVID", "0.5"),
    ("ss-invalid", frame(SS=[3, 0, 0], II=[12, 0, 0]), 1, "SS", "3"),
    ("addl-without-ii", frame(ADDL=[4, 0, 0]), 1, "ADDL", "4"),
    ("ss-bolus-without-ii", frame(SS=[1, 0, 0]), 1, "II", "0"),
    ("ss-infusion-ii0-with-amt", frame(SS=[1, 0, 0], RATE=[10, 0, 0]), 1, "AMT", "100"),
    ("ss-with-ii-without-amt", frame(AMT=[0, 0, 0], RATE=[10, 0, 0], SS=[1, 0, 0], II=[12, 0, 0], EVID=[1, 0, 0]), 1, "AMT", "0"),
    ("ii-negative", frame(II=[-12, 0, 0]), 1, "II", "-12"),
    ("addl-fraction", frame(ADDL=[1.5, 0, 0], II=[12, 0, 0]), 1, "ADDL", "1.5"),
    ("addl-negative", frame(ADDL=[-2, 0, 0], II=[12, 0, 0]), 1, "ADDL", "-2"),
    ("cmt-negative", frame(CMT=[-1, 1, 1]), 1, "CMT", "-1"),
    ("cmt-fraction", frame(CMT=[1, 2.5, 1]), 2, "CMT", "2.5"),
    ("cmt-bad-name", frame(CMT=["DEPOT", "two words", "CENTRAL"]), 2, "CMT", "'two words'"),
    ("dose-gives-nothing", frame(EVID=[1, 1, 0], MDV=[1, 1, 0]), 2, "AMT", "0"),
    ("amt-on-observation", frame(EVID=[1, 0, 0], AMT=[100, 50, 0], MDV=[1, 0, 0]), 2, "AMT", "50"),
    ("mdv-invalid", frame(MDV=[1, 2, 0]), 2, "MDV", "2"),
    ("mdv0-on-dose", frame(MDV=[0, 0, 0]), 1, "MDV", "0"),
    ("observation-without-dv", frame(MDV=[1, 0, 0], DV=[NaN, NaN, 1.0]), 2, "DV", "'.'"),
    ("id-missing-value", frame(ID=[1, NaN, 1]), 2, "ID", "'.'"),
    ("id-not-contiguous", frame(ID=[1, 2, 1], AMT=[100, 100, 0], DV=[NaN, NaN, 1.0]), 3, "ID", "1"),
    ("dv-infinite", frame(DV=[NaN, np.inf, 1.0]), 2, "DV", "inf"),
]


@pytest.mark.parametrize("case, table, row, column, value", CASES, ids=[c[0] for c in CASES])
def test_bad_dataframe(case, table, row, column, value):
    snapshot = table.copy(deep=True)
    with pytest.raises(DatasetError) as info:
        read_nonmem(table)
    message = str(info.value)
    assert f"row {row}, " in message, message
    assert f"column {column}" in message, message
    assert f"value {value}" in message, message
    assert "expected" in message, message
    pd.testing.assert_frame_equal(table, snapshot)


@pytest.mark.parametrize("case, table, row, column, value", CASES, ids=[c[0] for c in CASES])
def test_bad_file(case, table, row, column, value, tmp_path):
    path = tmp_path / f"{case}.csv"
    table.to_csv(path, index=False, na_rep=".")
    with pytest.raises(DatasetError) as info:
        read_nonmem(path)
    message = str(info.value)
    assert f"{case}.csv line {row + 1}, " in message, message
    assert f"column {column}" in message, message
    assert f"value {value}" in message, message


def test_line_numbers_count_comments_and_blank_lines(tmp_path):
    path = tmp_path / "commented.csv"
    path.write_text("# a comment\nID,TIME,AMT,DV\n\n1,0,100,.\n# another\n1,abc,0,2\n")
    with pytest.raises(DatasetError, match=r"commented.csv line 6, column TIME: value 'abc'"):
        read_nonmem(path)


def test_whitespace_file_line_numbers(tmp_path):
    path = tmp_path / "ws.txt"
    path.write_text("ID TIME AMT DV\n1 0 100 .\n1 1 -3 .\n")
    with pytest.raises(DatasetError, match=r"ws.txt line 3, column AMT: value -3"):
        read_nonmem(path)


# ---- structural problems (no single record to blame: the header is named) ----------------------
@pytest.mark.parametrize(
    "table, column",
    [
        (frame(ID=None), "ID"),
        (frame(TIME=None), "TIME"),
        (frame(AMT=None, DV=None), "AMT"),
    ],
    ids=["no-ID", "no-TIME", "no-AMT-or-DV"],
)
def test_missing_required_columns(table, column, tmp_path):
    snapshot = table.copy(deep=True)
    with pytest.raises(DatasetError, match=rf"DataFrame columns: column[s]? {column}.* missing"):
        read_nonmem(table)
    pd.testing.assert_frame_equal(table, snapshot)
    path = tmp_path / "cols.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DatasetError, match=rf"cols.csv line 1 \(header\): column[s]? {column}.* missing"):
        read_nonmem(path)


def test_duplicate_columns_after_case_folding(tmp_path):
    table = pd.DataFrame({"ID": [1], "TIME": [0], "time": [1], "DV": [1.0]})
    with pytest.raises(DatasetError, match=r"DataFrame columns, column time: duplicate column name \('TIME' and 'time'"):
        read_nonmem(table)
    path = tmp_path / "dup.csv"
    path.write_text("ID,TIME,Wt,WT,DV\n1,0,70,70,1\n")
    with pytest.raises(DatasetError, match=r"dup.csv line 1 \(header\), column WT: duplicate column name"):
        read_nonmem(path)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(text, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text(text)
    with pytest.raises(DatasetError, match=r"empty.csv line 1: the file is empty"):
        read_nonmem(path)


def test_header_without_records(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("ID,TIME,DV\n")
    with pytest.raises(DatasetError, match=r"header.csv line 1 \(header\): the file has a header \(ID, TIME, DV\) but no records"):
        read_nonmem(path)


def test_empty_dataframe():
    with pytest.raises(DatasetError, match="no rows"):
        read_nonmem(pd.DataFrame({"ID": [], "TIME": [], "DV": []}))


def test_too_many_fields(tmp_path):
    path = tmp_path / "fields.csv"
    path.write_text("ID,TIME,DV\n1,0,1\n1,1,2,99\n")
    with pytest.raises(DatasetError, match=r"fields.csv line 3, column 4: value '1,1,2,99' has 4 fields; expected at most 3"):
        read_nonmem(path)


def test_too_many_fields_on_first_record(tmp_path):
    path = tmp_path / "first.txt"
    path.write_text("ID TIME DV\n1 0 0 1\n1 1 2\n")
    with pytest.raises(DatasetError, match=r"first.txt line 2, column 4: value '1 0 0 1' has 4 fields"):
        read_nonmem(path)


def test_empty_column_name(tmp_path):
    path = tmp_path / "noname.csv"
    path.write_text("ID,,DV\n1,0,1\n")
    with pytest.raises(DatasetError, match=r"noname.csv line 1 \(header\), column 2: value '' is an empty column name"):
        read_nonmem(path)


def test_not_a_table():
    with pytest.raises(DatasetError, match="not list"):
        read_nonmem([1, 2, 3])


def test_message_counts_further_records():
    table = frame(AMT=[-1, -2, -3], EVID=[1, 1, 1], DV=[NaN, NaN, NaN])
    with pytest.raises(DatasetError, match=r"row 1, column AMT: value -1 is negative; .*2 more records with this problem, the next at row 2"):
        read_nonmem(table)


def test_unit_for_unknown_column():
    with pytest.raises(DatasetError, match=r"column WT: value 'kg': no unit conversion is defined"):
        read_nonmem(frame(WT=[70, 70, 70]), units={"WT": "kg"})
