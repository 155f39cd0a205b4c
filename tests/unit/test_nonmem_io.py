"""Reading and writing NONMEM-style datasets, the Dataset value and the shipped public datasets."""

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pkpd.errors import DatasetError
from pkpd.io import CANONICAL_COLUMNS, Dataset, load_dataset, read_nonmem, write_nonmem
from pkpd.models.pk import OneCompartment, OneCompartmentOral
from pkpd.units import UnitError

REPO = Path(__file__).resolve().parents[2]
COLUMNS = list(CANONICAL_COLUMNS)


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---- files ------------------------------------------------------------------------------------
def test_comma_file_with_comments_blank_lines_and_missing(tmp_path):
    path = write(
        tmp_path,
        "# study 1\nid,time,amt,dv,cmt,Wt\n\n1,0,100,.,1,70\n1,1,,2.5,2,70\n# interim\n2,0,50,.,1,80.5\n2,2,.,1.25,2,80.5\n",
    )
    ds = read_nonmem(path)
    e = ds.events
    assert list(e.columns) == COLUMNS + ["Wt"]
    assert e["ID"].tolist() == [1, 1, 2, 2]
    assert e["EVID"].tolist() == [1, 0, 1, 0]
    assert e["MDV"].tolist() == [1, 0, 1, 0]
    assert e["AMT"].tolist() == [100.0, 0.0, 50.0, 0.0]
    assert e["DV"].isna().tolist() == [True, False, True, False]
    assert e["CMT"].tolist() == [1, 2, 1, 2]
    assert ds.source_lines.tolist() == [4, 5, 7, 8]
    assert ds.covariates == ["Wt"]
    assert ds.source == "data.csv"


def test_whitespace_file(tmp_path):
    path = write(tmp_path, "ID TIME AMT DV\n1  0   100 .\n1\t1.5 0 3.25\n")
    e = read_nonmem(path).events
    assert e["TIME"].tolist() == [0.0, 1.5] and e["DV"].tolist()[1] == 3.25


def test_crlf_bom_and_quotes(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes('\ufeff"ID","TIME","AMT","DV"\r\n"1",0,100,.\r\n"1",1,0,2\r\n'.encode("utf-8"))
    e = read_nonmem(path).events
    assert e["ID"].tolist() == [1, 1] and e["DV"].tolist()[1] == 2.0


def test_string_ids_and_cmt_names(tmp_path):
    path = write(tmp_path, "ID,TIME,AMT,DV,CMT\nA-01,0,100,.,DEPOT\nA-01,1,0,2,CENTRAL\nB-02,0,100,.,1\nB-02,1,.,3,.\n")
    ds = read_nonmem(path)
    e = ds.events
    assert ds.ids.tolist() == ["A-01", "B-02"] and [i for i, _ in ds] == ["A-01", "B-02"]
    assert len(ds.subject("B-02").events) == 2
    assert e["ID"].tolist() == ["A-01", "A-01", "B-02", "B-02"]
    assert e["CMT"].tolist() == ["DEPOT", "CENTRAL", "1", "0"]


def test_integer_like_ids_become_int():
    e = read_nonmem(pd.DataFrame({"ID": ["01", "01", "2"], "TIME": [0, 1, 0], "DV": [1.0, 2.0, 3.0]})).events
    assert e["ID"].dtype == np.int64 and e["ID"].tolist() == [1, 1, 2]
    e = read_nonmem(pd.DataFrame({"ID": [1.0, 2.0], "TIME": [0, 0], "DV": [1.0, 2.0]})).events
    assert e["ID"].dtype == np.int64


def test_id_column_option():
    frame = pd.DataFrame({"Subject": [3, 3], "TIME": [0, 1], "AMT": [10, 0], "DV": [np.nan, 1.0]})
    ds = read_nonmem(frame, id_column="Subject")
    assert ds.ids.tolist() == [3] and "Subject" not in ds.covariates
    with pytest.raises(DatasetError, match="id_column 'Patient'"):
        read_nonmem(frame, id_column="Patient")


def test_dtypes_of_canonical_table():
    e = load_dataset("theophylline").events
    assert e["TIME"].dtype == np.float64 and e["AMT"].dtype == np.float64 and e["DV"].dtype == np.float64
    for col in ("EVID", "CMT", "ADDL", "SS", "MDV"):
        assert e[col].dtype == np.int64
    for col in ("AMT", "RATE", "CMT", "II", "ADDL", "SS", "EVID", "MDV"):
        assert not e[col].isna().any()


# ---- EVID / MDV derivation --------------------------------------------------------------------
def test_evid_and_mdv_derivation():
    frame = pd.DataFrame(
        {
            "ID": 1,
            "TIME": [0, 0.5, 1, 2, 3],
            "AMT": [0, 100, 0, 0, 0],
            "RATE": [0, 0, 0, 0, 0],
            "MDV": [np.nan, np.nan, 1, np.nan, np.nan],
            "DV": [1.0, np.nan, np.nan, np.nan, 4.0],
        }
    )
    e = read_nonmem(frame).events
    assert e["EVID"].tolist() == [0, 1, 2, 0, 0]
    assert e["MDV"].tolist() == [0, 1, 1, 1, 0]


def test_given_evid_is_kept_and_missing_filled():
    frame = pd.DataFrame({"ID": 1, "TIME": [0, 1, 2], "EVID": [1, np.nan, 3], "AMT": [5, 0, 0], "DV": [np.nan, 2, np.nan]})
    assert read_nonmem(frame).events["EVID"].tolist() == [1, 0, 3]


def test_steady_state_constant_infusion_is_valid():
    frame = pd.DataFrame({"ID": 1, "TIME": [0, 1], "AMT": [0, 0], "RATE": [5, 0], "SS": [1, 0], "EVID": [1, 0],
                          "DV": [np.nan, 1.0]})
    e = read_nonmem(frame).events
    assert e["RATE"].tolist() == [5.0, 0.0] and e["SS"].tolist() == [1, 0]


def test_reset_allows_time_to_go_back():
    frame = pd.DataFrame({"ID": 1, "TIME": [0, 10, 0, 1], "EVID": [1, 0, 4, 0], "AMT": [5, 0, 5, 0],
                          "DV": [np.nan, 1, np.nan, 2]})
    assert read_nonmem(frame).events["TIME"].tolist() == [0, 10, 0, 1]


def test_modelled_rate_codes_allowed():
    frame = pd.DataFrame({"ID": 1, "TIME": [0, 1], "AMT": [5, 5], "RATE": [-1, -2]})
    assert read_nonmem(frame).events["RATE"].tolist() == [-1.0, -2.0]


# ---- units ------------------------------------------------------------------------------------
def test_units_are_converted():
    frame = pd.DataFrame(
        {
            "ID": 1,
            "TIME": [0, 30, 60, 90],
            "AMT": [500, 0, 600, 0],
            "RATE": [0, 0, 10, 0],
            "II": [0, 0, 0, 0],
            "DV": [np.nan, 2500, np.nan, 1200],
        }
    )
    e = read_nonmem(frame, units={"time": "min", "AMT": "ug", "RATE": "ug/min", "dv": "ng/mL", "II": "min"}).events
    assert e["TIME"].tolist() == [0, 0.5, 1.0, 1.5]
    assert e["AMT"].tolist() == [0.5, 0.0, 0.6, 0.0]
    assert e["RATE"].tolist() == pytest.approx([0, 0, 0.6, 0])
    assert e["DV"].tolist()[1] == 2.5 and e["DV"].tolist()[3] == 1.2


def test_rate_codes_not_converted_and_ii_converted():
    frame = pd.DataFrame({"ID": 1, "TIME": [0, 60], "AMT": [5, 5], "RATE": [-2, 2], "II": [720, 0], "ADDL": [1, 0]})
    e = read_nonmem(frame, units={"RATE": "mg/min", "II": "min", "TIME": "min"}).events
    assert e["RATE"].tolist() == [-2.0, 120.0]
    assert e["II"].tolist() == [12.0, 0.0]


def test_molar_dv_needs_mw():
    frame = pd.DataFrame({"ID": 1, "TIME": [0, 1], "AMT": [5, 0], "DV": [np.nan, 1000.0]})
    assert read_nonmem(frame, units={"DV": "nM"}, mw=200.0).events["DV"].tolist()[1] == pytest.approx(0.2)
    with pytest.raises(DatasetError, match="molecular weight") as info:
        read_nonmem(frame, units={"DV": "nM"})
    assert isinstance(info.value, UnitError)


@pytest.mark.parametrize(
    "units, text",
    [
        ({"WT": "kg"}, "column WT"),
        ({"TIME": "mg"}, "not a unit of time"),
        ({"DV": "h"}, "not a unit of concentration"),
        ({"AMT": "bogus"}, "unknown unit"),
    ],
)
def test_bad_units_raise(units, text):
    frame = pd.DataFrame({"ID": 1, "TIME": [0, 1], "AMT": [5, 0], "DV": [np.nan, 1.0], "WT": 70})
    with pytest.raises(DatasetError, match=text) as info:
        read_nonmem(frame, units=units)
    assert isinstance(info.value, UnitError)


# ---- the caller's DataFrame is never modified -------------------------------------------------
def test_dataframe_not_modified():
    frame = pd.DataFrame(
        {"id": ["1", "1"], "Time": [0, 60], "AMT": [100, np.nan], "DV": [".", "2"], "CMT": [np.nan, 2], "WT": [70, 70]},
        index=[10, 20],
    )
    snapshot = frame.copy(deep=True)
    ds = read_nonmem(frame, units={"TIME": "min"})
    pd.testing.assert_frame_equal(frame, snapshot)
    ev = ds.events
    ev.loc[0, "AMT"] = -1
    assert ds.events.loc[0, "AMT"] == 100.0  # events is a copy
    assert list(frame.index) == [10, 20]


# ---- Dataset ----------------------------------------------------------------------------------
def test_dataset_api():
    ds = load_dataset("theophylline")
    assert len(ds) == 12
    assert ds.ids.tolist() == list(range(1, 13))
    assert ds.covariates == ["WT", "DOSE_MGKG"]
    obs = ds.observations
    assert list(obs.columns) == ["ID", "TIME", "DV", "CMT", "WT", "DOSE_MGKG"] and len(obs) == 132
    assert len(ds.doses) == 12 and (ds.doses["EVID"] == 1).all()
    sub = ds.subject(5)
    assert isinstance(sub, Dataset) and len(sub) == 1 and len(sub.events) == 12
    assert sub.source_lines.tolist() == list(range(50, 62))
    pairs = list(ds)
    assert [i for i, _ in pairs] == list(range(1, 13))
    assert pairs[4][1] == sub
    pd.testing.assert_frame_equal(ds.to_frame(), ds.events)
    assert "<table" in ds._repr_html_() and "12 subjects" in ds._repr_html_()
    assert repr(ds).startswith("Dataset(12 subjects, 144 records")


def test_dataset_is_immutable():
    ds = load_dataset("indometacin")
    with pytest.raises(AttributeError):
        ds.events = None
    with pytest.raises(AttributeError):
        ds._events = None
    with pytest.raises(ValueError):
        ds.source_lines[0] = 99
    with pytest.raises(TypeError):
        hash(ds)


def test_subject_unknown_id():
    with pytest.raises(DatasetError, match="no subject with ID 99"):
        load_dataset("indometacin").subject(99)


def test_dataset_constructor_requires_canonical_table():
    with pytest.raises(DatasetError, match="read_nonmem"):
        Dataset(pd.DataFrame({"ID": [1], "TIME": [0]}))
    ds = load_dataset("indometacin")
    assert Dataset(ds.events) == ds


def test_check_against_model(tmp_path):
    load_dataset("theophylline").check(OneCompartmentOral())
    load_dataset("indometacin").check(OneCompartment())
    with pytest.raises(DatasetError, match=r"theophylline.csv line 3, column CMT: value 2 .*OneCompartment"):
        load_dataset("theophylline").check(OneCompartment())
    path = write(tmp_path, "ID,TIME,AMT,DV,CMT\n1,0,100,.,DEPOT\n1,1,0,2,PERIPH\n")
    ds = read_nonmem(path)
    with pytest.raises(DatasetError, match=r"data.csv line 3, column CMT: value 'PERIPH'"):
        ds.check(OneCompartmentOral())


# ---- write / read -----------------------------------------------------------------------------
def test_write_read_round_trip(tmp_path):
    frame = pd.DataFrame(
        {
            "ID": ["a", "a", "a", "b", "b"],
            "TIME": [0, 0.1, 1 / 3, 0, 12.5],
            "AMT": [100, 0, 0, 0.1 + 0.2, 0],
            "RATE": [0, 0, 0, 2 / 7, 0],
            "CMT": ["DEPOT", "CENTRAL", "CENTRAL", "CENTRAL", np.nan],
            "II": [12, 0, 0, 0, 0],
            "ADDL": [3, 0, 0, 0, 0],
            "DV": [np.nan, 1e-9, 123456.789, np.nan, 2.0],
            "SEX": ["F", "F", "F", "M", "M"],
            "WT": [70.1, 70.1, 70.1, np.nan, 80.0],
        }
    )
    ds = read_nonmem(frame)
    for missing in (".", ""):
        path = tmp_path / f"out{len(missing)}.csv"
        write_nonmem(ds, path, missing=missing)
        assert read_nonmem(path) == ds
    write_nonmem(frame, tmp_path / "frame.csv")
    assert read_nonmem(tmp_path / "frame.csv") == ds
    with pytest.raises(DatasetError, match="missing='NA'"):
        write_nonmem(ds, tmp_path / "x.csv", missing="NA")


def test_write_validates_frames(tmp_path):
    with pytest.raises(DatasetError, match="row 1, column AMT"):
        write_nonmem(pd.DataFrame({"ID": [1], "TIME": [0], "AMT": [-1]}), tmp_path / "bad.csv")


# ---- public datasets --------------------------------------------------------------------------
def test_theophylline_derivation():
    raw = pd.read_csv(REPO / "datasets" / "raw" / "Theoph.csv")
    ds = load_dataset("theophylline")
    e = ds.events
    first = e.groupby("ID").head(2)
    # dose first, then the measured t=0 concentration as an observation
    assert first["EVID"].tolist() == [1, 0] * 12
    assert (first["TIME"] == 0).all()
    doses = ds.doses
    assert np.allclose(doses["AMT"], doses["WT"] * doses["DOSE_MGKG"], rtol=0, atol=1e-6)
    assert doses["AMT"].iloc[0] == 319.992 and (doses["CMT"] == 1).all()
    assert (ds.observations["CMT"] == 2).all()
    s1 = ds.subject(1).observations
    assert s1["DV"].iloc[0] == 0.74 and s1["TIME"].iloc[-1] == 24.37
    assert len(ds.observations) == len(raw)
    by_subject = raw.sort_values("Subject", key=lambda s: s.astype(int), kind="stable")
    assert np.allclose(ds.observations["DV"].to_numpy(), by_subject["conc"].to_numpy())


def test_indometacin_derivation():
    ds = load_dataset("indometacin")
    assert len(ds) == 6 and len(ds.observations) == 66
    assert ds.doses["AMT"].tolist() == [25.0] * 6 and (ds.doses["CMT"] == 1).all()
    assert ds.subject(1).observations["DV"].iloc[0] == 1.5


def test_unknown_dataset_name():
    with pytest.raises(DatasetError, match="theophylline, indometacin"):
        load_dataset("warfarin")


def test_shipped_copies_and_readme_checksums():
    readme = (REPO / "datasets" / "README.md").read_text()
    for name in ("theophylline", "indometacin"):
        public = (REPO / "datasets" / f"{name}.csv").read_bytes()
        shipped = (REPO / "pkpd" / "io" / "data" / f"{name}.csv").read_bytes()
        assert public == shipped
        digest = hashlib.sha256(public).hexdigest()
        assert re.search(rf"{digest}\s+{name}\.csv", readme), f"README checksum of {name}.csv is stale"


def test_generator_reproduces_the_files(tmp_path):
    source = REPO / "datasets" / "raw"             # R's Theoph and Indometh, exported unchanged
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_public_datasets", REPO / "datasets" / "make_public_datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, make in (("theophylline", module.theophylline), ("indometacin", module.indometacin)):
        out = tmp_path / f"{name}.csv"
        make(source).to_csv(out, index=False, na_rep=".", lineterminator="\n")
        assert out.read_bytes() == (REPO / "datasets" / f"{name}.csv").read_bytes()


# ---- scale ------------------------------------------------------------------------------------
def test_reading_1e5_rows(tmp_path):
    """10 000 subjects x 10 records read from a file and from a DataFrame give the same table (speed is
    measured by scripts, not asserted in tests)."""
    n_id, per = 10_000, 10
    frame = pd.DataFrame(
        {
            "ID": np.repeat(np.arange(1, n_id + 1), per),
            "TIME": np.tile(np.arange(per, dtype=float), n_id),
            "DV": np.random.default_rng(0).random(n_id * per),
            "WT": 70.0,
        }
    )
    frame["AMT"] = np.where(frame["TIME"] == 0, 100.0, 0.0)
    frame.loc[frame["TIME"] == 0, "DV"] = np.nan
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False, na_rep=".")
    ds = read_nonmem(path)
    assert len(ds.events) == 100_000 and len(ds) == n_id
    pd.testing.assert_frame_equal(ds.events, read_nonmem(frame).events)


# ---- data the way users have it (issue 15; the file corpus is tests/unit/test_dataset_corpus.py) ------
def test_dataframe_integer_ids_are_kept_exactly():
    frame = pd.DataFrame({"ID": np.array([12345678901234567, 12345678901234567, 12345678901234568], np.int64),
                          "TIME": [0.0, 1.0, 0.0], "AMT": [100.0, 0, 50.0], "DV": [np.nan, 2.0, np.nan]})
    ds = read_nonmem(frame)
    assert ds.ids.tolist() == [12345678901234567, 12345678901234568] and ds.events["ID"].dtype == np.int64
    as_text = read_nonmem(frame.astype({"ID": str}))
    assert as_text == ds


def test_float_ids_beyond_2_53_are_an_error():
    frame = pd.DataFrame({"ID": [1.2345678901234568e16, 1.2345678901234568e16], "TIME": [0.0, 1.0],
                          "DV": [1.0, 2.0]})
    with pytest.raises(DatasetError, match=r"row 1, column ID: value 1\.2345678901234568e\+16 is a floating-point ID"):
        read_nonmem(frame)


def test_missing_value_tokens_in_a_dataframe():
    frame = pd.DataFrame({"ID": 1, "TIME": [0, 1, 2], "AMT": [100, 0, 0], "DV": [".", "2.5", "NA"],
                          "WT": [70, -99, 70]})
    with pytest.raises(DatasetError, match=r"row 3, column DV: value 'NA' is a missing-value token.*na_values=\('NA',\)"):
        read_nonmem(frame)
    e = read_nonmem(frame, na_values=("NA", -99)).events
    assert e["DV"].isna().tolist() == [True, False, True] and e["WT"].isna().tolist() == [False, True, False]
    assert e["MDV"].tolist() == [1, 0, 1]


def test_reading_options_are_checked():
    frame = pd.DataFrame({"ID": [1], "TIME": [0], "DV": [1.0]})
    with pytest.raises(DatasetError, match="ignore=5"):
        read_nonmem(frame, ignore=5)
    with pytest.raises(DatasetError, match="na_values"):
        read_nonmem(frame, na_values=[" NA"])


def test_c_records_of_a_dataframe_are_an_error():
    frame = pd.DataFrame({"C": [".", "C", "."], "ID": 1, "TIME": [0, 1, 2], "AMT": [100, 0, 0], "DV": [None, 9, 2]})
    with pytest.raises(DatasetError, match=r"row 2, column C: value 'C' marks a record that NONMEM skips only with IGNORE=C"):
        read_nonmem(frame)


def test_commented_header_tab_file_and_c_records(tmp_path):
    path = write(tmp_path, "#C\tID\tTIME\tAMT\tDV\n.\t1\t0\t100\t\nC\t1\t1\t\t99\n.\t1\t2\t\t2.5\n")
    ds = read_nonmem(path, ignore="#C")
    assert ds.events["DV"].tolist()[1] == 2.5 and ds.source_lines.tolist() == [2, 4]


def test_a_column_that_looks_like_a_nonmem_item_warns_when_that_item_is_missing():
    """Issue 18: an ``interval`` column was silently kept as a covariate, and the doses were not repeated. A
    column named like a NONMEM data item (interval/tau, dose, route, conc, ...) warns when that item (II, AMT, CMT,
    DV, ...) is absent; it is still kept as a covariate and nothing else changes."""
    import warnings

    table = pd.DataFrame({"ID": 1, "TIME": [0.0, 1.0, 2.0], "AMT": [100.0, 0, 0], "interval": 12.0,
                          "DV": [np.nan, 1.0, 2.0]})
    with pytest.warns(UserWarning, match=r"column 'interval' is kept as a covariate, and there is no II column.*"
                                         r"SS=1 for a steady state"):
        data = read_nonmem(table)
    assert data.covariates == ["interval"] and data.events["II"].tolist() == [0.0, 0.0, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # the NONMEM item is there: DOSE is an ordinary covariate
        read_nonmem(table.drop(columns="interval").assign(DOSE=100.0))
