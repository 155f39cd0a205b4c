"""Long, wide and Monolix tables read as NONMEM datasets: pkpd.io.from_long, from_wide, from_monolix (issue 18)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.io import from_long, from_monolix, from_wide, load_dataset, read_nonmem, write_nonmem
from pkpd.models import OneCompartment, OneCompartmentOral

EVENT = ["ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS", "MDV", "DV"]

# R's datasets::Indometh (Kwan et al. 1976): 6 subjects, 25 mg IV bolus at 0, these sampling times (h)
INDO_TIMES = [0.25, 0.5, 0.75, 1, 1.25, 2, 3, 4, 5, 6, 8]
INDO_CONC = [
    [1.50, 0.94, 0.78, 0.48, 0.37, 0.19, 0.12, 0.11, 0.08, 0.07, 0.05],
    [2.03, 1.63, 0.71, 0.70, 0.64, 0.36, 0.32, 0.20, 0.25, 0.12, 0.08],
    [2.72, 1.49, 1.16, 0.80, 0.80, 0.39, 0.22, 0.12, 0.11, 0.08, 0.08],
    [1.85, 1.39, 1.02, 0.89, 0.59, 0.40, 0.16, 0.11, 0.10, 0.07, 0.07],
    [2.05, 1.04, 0.81, 0.39, 0.30, 0.23, 0.13, 0.11, 0.08, 0.10, 0.06],
    [2.31, 1.44, 1.03, 0.84, 0.64, 0.42, 0.24, 0.17, 0.13, 0.10, 0.09],
]


def indometh_long() -> pd.DataFrame:
    """R's Indometh as R has it: Subject, time, conc (the dose is not in the table)."""
    rows = [(s + 1, t, c) for s, concs in enumerate(INDO_CONC) for t, c in zip(INDO_TIMES, concs)]
    return pd.DataFrame(rows, columns=["Subject", "time", "conc"])


def phenobarb() -> pd.DataFrame:
    """The first three subjects of nlme's Phenobarb (Grasela & Donn 1985), as R has them: dose and conc on
    separate rows, NA where not given."""
    na = np.nan
    rows = [
        (1, 1.4, 7, 0.0, 25.0, na), (1, 1.4, 7, 2.0, na, 17.3), (1, 1.4, 7, 12.5, 3.5, na),
        (1, 1.4, 7, 24.5, 3.5, na), (1, 1.4, 7, 37.0, 3.5, na), (1, 1.4, 7, 48.0, 3.5, na),
        (1, 1.4, 7, 60.5, 3.5, na), (1, 1.4, 7, 72.5, 3.5, na), (1, 1.4, 7, 85.3, 3.5, na),
        (1, 1.4, 7, 96.5, 3.5, na), (1, 1.4, 7, 108.5, 3.5, na), (1, 1.4, 7, 112.5, na, 31.0),
        (2, 1.5, 9, 0.0, 15.0, na), (2, 1.5, 9, 2.0, na, 9.7), (2, 1.5, 9, 4.0, 3.8, na),
        (2, 1.5, 9, 16.0, 3.8, na), (2, 1.5, 9, 27.8, 3.8, na), (2, 1.5, 9, 40.0, 3.8, na),
        (2, 1.5, 9, 52.0, 3.8, na), (2, 1.5, 9, 63.5, na, 24.6), (2, 1.5, 9, 64.0, 3.8, na),
        (2, 1.5, 9, 76.0, 3.8, na), (2, 1.5, 9, 88.0, 3.8, na), (2, 1.5, 9, 100.0, 3.8, na),
        (2, 1.5, 9, 112.0, 3.8, na), (2, 1.5, 9, 124.0, 3.8, na), (2, 1.5, 9, 135.5, na, 33.0),
        (3, 1.5, 6, 0.0, 30.0, na), (3, 1.5, 6, 1.5, na, 18.0), (3, 1.5, 6, 11.5, 3.7, na),
        (3, 1.5, 6, 23.5, 3.7, na), (3, 1.5, 6, 35.5, 3.7, na), (3, 1.5, 6, 47.5, 3.7, na),
        (3, 1.5, 6, 59.3, 3.7, na), (3, 1.5, 6, 73.0, 3.7, na), (3, 1.5, 6, 83.5, na, 23.8),
        (3, 1.5, 6, 84.0, 3.7, na), (3, 1.5, 6, 96.5, 3.7, na), (3, 1.5, 6, 108.5, 3.7, na),
        (3, 1.5, 6, 120.0, 3.7, na), (3, 1.5, 6, 132.0, 3.7, na), (3, 1.5, 6, 134.3, na, 24.3),
    ]
    return pd.DataFrame(rows, columns=["Subject", "Wt", "Apgar", "time", "dose", "conc"])


def unchanged(frame: pd.DataFrame, call):
    """Run ``call(frame)`` and check the frame is exactly as before."""
    before = frame.copy(deep=True)
    out = call(frame)
    pd.testing.assert_frame_equal(frame, before)
    return out


def explicit(records, columns=("ID", "TIME", "AMT", "DV")):
    """A NONMEM dataset of these records, sorted by ID and TIME (a dose before a sample at the same time)."""
    frame = pd.DataFrame(records, columns=list(columns))
    frame = frame.assign(_sample=frame["AMT"] == 0).sort_values(["ID", "TIME", "_sample"], kind="stable")
    return read_nonmem(frame.drop(columns="_sample"))


# ---------------------------------------------------------------------------------------------
# from_long
# ---------------------------------------------------------------------------------------------
def test_indometh_long_with_the_dose_given_aside_is_the_bundled_dataset():
    frame = indometh_long()
    ds = unchanged(frame, lambda f: from_long(f, id="Subject", time="time", conc="conc", dose=25, cmt=1, obs_cmt=1))
    ref = load_dataset("indometacin")
    assert ds == ref
    pd.testing.assert_frame_equal(ds.to_frame(), ref.to_frame())
    # each record points at the caller's row: the inserted dose at the subject's first row
    assert ds.source_lines[:3].tolist() == [1, 1, 2] and ds.source_lines[12:14].tolist() == [12, 12]


def test_phenobarb_doses_and_samples_on_separate_rows():
    frame = phenobarb()
    ds = unchanged(frame, lambda f: from_long(f, id="Subject", time="time", conc="conc", dose="dose"))
    e = ds.to_frame()
    assert list(e.columns) == EVENT + ["Wt", "Apgar"]
    assert len(ds) == 3 and len(e) == len(frame)  # one record per row: no row holds both
    dose_rows = frame["dose"].notna().to_numpy()
    assert e["EVID"].tolist() == np.where(dose_rows, 1, 0).tolist()
    assert e["MDV"].tolist() == np.where(dose_rows, 1, 0).tolist()
    np.testing.assert_array_equal(e["ID"], frame["Subject"])
    np.testing.assert_array_equal(e["TIME"], frame["time"])
    np.testing.assert_array_equal(e["AMT"], frame["dose"].fillna(0.0))
    np.testing.assert_array_equal(e["DV"], frame["conc"])
    assert (e[["RATE", "II"]] == 0).all().all() and (e[["CMT", "ADDL", "SS"]] == 0).all().all()
    np.testing.assert_array_equal(e["Wt"], frame["Wt"])
    np.testing.assert_array_equal(e["Apgar"], frame["Apgar"])
    # subject 2, exactly
    sub = ds.subject(2).to_frame()
    assert sub["TIME"].tolist()[:5] == [0.0, 2.0, 4.0, 16.0, 27.8]
    assert sub["AMT"].tolist()[:5] == [15.0, 0.0, 3.8, 3.8, 3.8]
    assert sub.loc[sub["EVID"] == 0, "DV"].tolist() == [9.7, 24.6, 33.0]
    assert ds.observations["DV"].tolist() == [17.3, 31.0, 9.7, 24.6, 33.0, 18.0, 23.8, 24.3]


def test_phenobarb_from_a_csv_written_by_r_with_na():
    frame = phenobarb().astype({"dose": object, "conc": object})
    frame.loc[frame["dose"].isna(), "dose"] = "NA"
    frame.loc[frame["conc"].isna(), "conc"] = "NA"
    with pytest.raises(pkpd.DatasetError, match=r"row 1, column conc: value 'NA' is not a number"):
        from_long(frame, id="Subject", time="time", conc="conc", dose="dose")
    ds = from_long(frame, id="Subject", time="time", conc="conc", dose="dose", na_values=("NA",))
    assert ds == from_long(phenobarb(), id="Subject", time="time", conc="conc", dose="dose")


def test_a_row_with_a_dose_and_a_sample_is_the_sample_then_the_dose():
    frame = pd.DataFrame({"id": [1, 1, 1], "t": [0.0, 12.0, 13.0], "dose": [100.0, 100.0, 0.0],
                          "conc": [np.nan, 1.4, 3.0]})
    e = from_long(frame, id="id", time="t", conc="conc", dose="dose").to_frame()
    assert e[["TIME", "EVID", "AMT"]].values.tolist() == [[0, 1, 100], [12, 0, 0], [12, 1, 100], [13, 0, 0]]
    assert e["DV"].tolist()[1] == 1.4 and np.isnan(e["DV"].tolist()[2])


def test_scalar_dose_comes_after_predose_samples_and_rows_without_anything_are_kept():
    frame = pd.DataFrame({"id": ["a", "a", "a", "b"], "t": [0.0, 1.0, 2.0, 1.0], "c": [0.1, 2.0, np.nan, 1.0]})
    e = from_long(frame, id="id", time="t", conc="c", dose=50.0).to_frame()
    assert e[["ID", "TIME", "EVID", "MDV"]].values.tolist() == [
        ["a", 0.0, 0, 0], ["a", 0.0, 1, 1], ["a", 1.0, 0, 0], ["a", 2.0, 0, 1], ["b", 0.0, 1, 1], ["b", 1.0, 0, 0]]


def test_routes_compartments_durations_covariates_and_units():
    frame = pd.DataFrame({"pt": [7, 7, 7, 8, 8], "min": [0, 60, 120, 0, 30], "ug": [500, None, None, 200, None],
                          "route": ["oral", None, None, "iv", None], "ngml": [None, 2100, 1500, None, 800],
                          "WT": [70, 70, 70, 80, 80], "site": ["x"] * 5})
    ds = unchanged(frame, lambda f: from_long(
        f, id="pt", time="min", conc="ngml", dose="ug", route="route", routes={"oral": "DEPOT", "iv": "CENTRAL"},
        obs_cmt="CENTRAL", covariates=["WT"], units={"min": "min", "ug": "ug", "ngml": "ng/mL"}))
    e = ds.to_frame()
    assert list(e.columns) == EVENT + ["WT"]
    assert e["CMT"].tolist() == ["DEPOT", "CENTRAL", "CENTRAL", "CENTRAL", "CENTRAL"]
    assert e["TIME"].tolist() == [0.0, 1.0, 2.0, 0.0, 0.5]
    assert e["AMT"].tolist() == [0.5, 0.0, 0.0, 0.2, 0.0]
    np.testing.assert_allclose(e["DV"].dropna(), [2.1, 1.5, 0.8])
    # a 30-minute infusion: RATE in mg/h from the dose and duration in the caller's units
    e = from_long(frame, id="pt", time="min", conc="ngml", dose="ug", duration=30, covariates="WT",
                  units={"TIME": "min", "AMT": "ug", "DV": "ng/mL"}).to_frame()
    assert e.loc[e["EVID"] == 1, "RATE"].tolist() == [1.0, 0.4]


def test_theoph_one_dose_per_subject_from_a_column_with_dose_time():
    ref = load_dataset("theophylline")
    o = ref.observations
    theoph = pd.DataFrame({"Subject": o["ID"], "Wt": o["WT"], "Dose": o["DOSE_MGKG"], "Time": o["TIME"], "conc": o["DV"]})
    frame = theoph.assign(mg=theoph["Dose"] * theoph["Wt"])  # R's Theoph gives mg/kg
    ds = unchanged(frame, lambda f: from_long(f, id="Subject", time="Time", conc="conc", dose="mg", dose_time=0,
                                              cmt=1, obs_cmt=2, covariates=["Wt"]))
    np.testing.assert_allclose(ds.doses["AMT"], ref.doses["AMT"], rtol=1e-12)
    assert (ds.doses["TIME"] == 0).all() and (ds.doses["CMT"] == 1).all()
    pd.testing.assert_frame_equal(ds.observations.drop(columns="Wt"), ref.observations.drop(columns=["WT", "DOSE_MGKG"]))
    # the time-0 sample is a pre-dose sample: it comes before the dose
    assert ds.subject(1).to_frame()["EVID"].tolist()[:3] == [0, 1, 0]
    changed = frame.assign(mg=frame["mg"].where(frame.index != 5, 1.0))
    with pytest.raises(pkpd.DatasetError, match=r"^row 6, column mg: value 1 differs from the dose on the subject's first row"):
        from_long(changed, id="Subject", time="Time", conc="conc", dose="mg", dose_time=0)


# ---------------------------------------------------------------------------------------------
# dosing intervals
# ---------------------------------------------------------------------------------------------
def multiple_dose_table() -> pd.DataFrame:
    """100 mg q12h x 4 (subject 1) and 50 mg q8h x 3 then one 80 mg dose (subject 2), with a tau column."""
    return pd.DataFrame({
        "id": [1, 1, 1, 1, 1, 2, 2, 2, 2, 2],
        "time": [0.0, 1.0, 13.0, 37.0, 40.0, 0.0, 2.0, 24.0, 25.0, 30.0],
        "dose": [100.0, None, None, None, None, 50.0, None, 80.0, None, None],
        "tau": [12.0, None, None, None, None, 8.0, None, None, None, None],
        "n": [4, None, None, None, None, 3, None, None, None, None],
        "conc": [None, 1.1, 2.2, 3.3, 4.4, None, 0.5, None, 0.7, 0.6],
        "WT": [70.0] * 5 + [60.0] * 5,
    })


def test_a_dosing_interval_column_becomes_ii_and_addl():
    frame = multiple_dose_table()
    ds = unchanged(frame, lambda f: from_long(f, id="id", time="time", conc="conc", dose="dose", interval="tau",
                                              doses="n"))
    doses = ds.doses
    assert doses[["ID", "TIME", "AMT", "II", "ADDL", "SS"]].values.tolist() == [
        [1, 0.0, 100.0, 12.0, 3, 0], [2, 0.0, 50.0, 8.0, 2, 0], [2, 24.0, 80.0, 0.0, 0, 0]]
    assert ds.covariates == ["WT"]  # tau and n are read, not kept

    # the same doses written out one by one: simulate gives the same predictions
    one_by_one = explicit([(1, t, 100.0, np.nan) for t in (0, 12, 24, 36)]
                          + [(1, t, 0.0, 1.0) for t in (1, 13, 37, 40)]
                          + [(2, t, 50.0, np.nan) for t in (0, 8, 16)] + [(2, 24, 80.0, np.nan)]
                          + [(2, t, 0.0, 1.0) for t in (2, 25, 30)])
    for model, params in ((OneCompartment(), {"CL": 5.0, "V": 50.0}),
                          (OneCompartmentOral(), {"CL": 5.0, "V": 50.0, "KA": 1.2})):
        a = pkpd.simulate(model, ds, params).to_frame()
        b = pkpd.simulate(model, one_by_one, params).to_frame()
        obs_a = a[ds.to_frame()["EVID"].to_numpy() == 0].reset_index(drop=True)
        obs_b = b[one_by_one.to_frame()["EVID"].to_numpy() == 0].reset_index(drop=True)
        assert obs_a["TIME"].tolist() == [1.0, 13.0, 37.0, 40.0, 2.0, 25.0, 30.0]
        np.testing.assert_allclose(obs_a["CP"], obs_b["CP"], rtol=1e-12, atol=1e-12)


def test_doses_until_the_last_record_and_a_scalar_interval():
    frame = multiple_dose_table().drop(columns=["tau", "n"])
    ds = from_long(frame, id="id", time="time", conc="conc", dose="dose", interval=12, doses="until_last")
    # subject 1: doses at 0, 12, 24, 36 (before its last record at 40); subject 2: at 0 and 12 before 30, and
    # the 80 mg dose at 24 once more (36 is after 30)
    assert ds.doses[["ID", "TIME", "II", "ADDL"]].values.tolist() == [[1, 0, 12, 3], [2, 0, 12, 2], [2, 24, 12, 0]]
    # a dose falling on the last sample's time comes after that sample: not counted
    last = frame.assign(time=[0.0, 1.0, 13.0, 30.0, 36.0, 0.0, 2.0, 24.0, 25.0, 30.0])
    ds = from_long(last, id="id", time="time", conc="conc", dose="dose", interval=12, doses="until_last")
    assert ds.doses["ADDL"].tolist() == [2, 2, 0]


def test_a_dosing_interval_at_steady_state_is_ss_1():
    frame = multiple_dose_table()
    ds = from_long(frame, id="id", time="time", conc="conc", dose="dose", interval="tau", steady_state=True)
    assert ds.doses[["TIME", "II", "ADDL", "SS"]].values.tolist() == [[0, 12, 0, 1], [0, 8, 0, 1], [24, 0, 0, 0]]
    # steady state then more doses: SS 1 and ADDL together
    ds2 = from_long(frame, id="id", time="time", conc="conc", dose="dose", interval="tau", doses="n", steady_state=True)
    assert ds2.doses[["II", "ADDL", "SS"]].values.tolist() == [[12, 3, 1], [8, 2, 1], [0, 0, 0]]
    # SS 1 is what many doses before time 0 would give
    params = {"CL": 5.0, "V": 50.0}
    ss = pkpd.simulate(OneCompartment(), ds2.subject(1), params).to_frame()
    long_ago = pd.DataFrame({"ID": 1, "TIME": [-1200.0, 1.0, 13.0, 37.0, 40.0], "AMT": [100.0, 0, 0, 0, 0],
                             "II": [12.0, 0, 0, 0, 0], "ADDL": [103, 0, 0, 0, 0], "DV": [np.nan, 1, 1, 1, 1]})
    long_ago["TIME"] += 1200.0
    history = pkpd.simulate(OneCompartment(), read_nonmem(long_ago), params).to_frame()
    np.testing.assert_allclose(ss["CP"].to_numpy()[1:], history["CP"].to_numpy()[1:], rtol=1e-9)


def test_an_interval_needs_to_say_how_the_regimen_goes_on():
    frame = multiple_dose_table()
    with pytest.raises(pkpd.DatasetError, match=r"interval='tau' is given without doses= or steady_state=True"):
        from_long(frame, id="id", time="time", conc="conc", dose="dose", interval="tau")
    with pytest.raises(pkpd.DatasetError, match=r"row 6, column n: value 2.5 is not a number of doses; expected an integer >= 1"):
        from_long(frame.assign(n=[4, None, None, None, None, 2.5, None, None, None, None]), id="id", time="time",
                  conc="conc", dose="dose", interval="tau", doses="n")
    with pytest.raises(pkpd.DatasetError, match=r"row 1, column tau: value -12 is negative"):
        from_long(frame.assign(tau=[-12.0] + [None] * 9), id="id", time="time", conc="conc", dose="dose",
                  interval="tau", doses="n")
    with pytest.raises(pkpd.DatasetError, match=r"doses=4 is given without interval="):
        from_long(frame, id="id", time="time", conc="conc", dose="dose", doses=4)


# ---------------------------------------------------------------------------------------------
# from_wide
# ---------------------------------------------------------------------------------------------
def test_indometh_wide_is_the_bundled_dataset():
    wide = pd.DataFrame(INDO_CONC, columns=[f"{t:g}h" for t in INDO_TIMES])
    wide.insert(0, "Subject", range(1, 7))
    ds = unchanged(wide, lambda f: from_wide(f, id="Subject", dose=25, cmt=1, obs_cmt=1))
    assert ds == load_dataset("indometacin")
    assert ds.source_lines[:13].tolist() == [1] * 12 + [2]
    # numeric column names, and minutes
    numeric = wide.rename(columns={f"{t:g}h": t for t in INDO_TIMES})
    assert from_wide(numeric, id="Subject", dose=25, cmt=1, obs_cmt=1) == ds
    minutes = wide.rename(columns={f"{t:g}h": f"{t * 60:g} min" for t in INDO_TIMES})
    assert from_wide(minutes, id="Subject", dose=25, cmt=1, obs_cmt=1) == ds
    bare = wide.rename(columns={f"{t:g}h": f"{t * 60:g}" for t in INDO_TIMES})
    assert from_wide(bare, id="Subject", dose=25, cmt=1, obs_cmt=1, units={"TIME": "min"}) == ds


def test_wide_with_a_dose_column_missing_cells_and_covariates():
    wide = pd.DataFrame({"patient": ["P1", "P2", "P3"], "WT": [70.0, 82.0, 64.0], "mg": [100.0, 150.0, 100.0],
                         "0h": [0.0, np.nan, np.nan], "2h": [4.1, 5.0, np.nan], "1h": [3.0, np.nan, np.nan],
                         "note": ["a", "b", "c"]})
    ds = unchanged(wide, lambda f: from_wide(f, id="patient", dose="mg", covariates=["WT"]))
    e = ds.to_frame()
    assert e[["ID", "TIME", "EVID", "AMT", "DV"]].fillna(-1).values.tolist() == [
        ["P1", 0.0, 0, 0.0, 0.0], ["P1", 0.0, 1, 100.0, -1], ["P1", 1.0, 0, 0.0, 3.0], ["P1", 2.0, 0, 0.0, 4.1],
        ["P2", 0.0, 1, 150.0, -1], ["P2", 2.0, 0, 0.0, 5.0],
        ["P3", 0.0, 1, 100.0, -1]]
    assert ds.covariates == ["WT"] and e["WT"].tolist() == [70.0] * 4 + [82.0] * 2 + [64.0]
    # an explicit mapping of columns to times, and a regimen
    ds = from_wide(wide, id="patient", dose="mg", times={"1h": 1, "2h": 2}, covariates=[], interval=12, doses=3)
    assert ds.doses[["II", "ADDL"]].values.tolist() == [[12, 2]] * 3


def test_wide_errors_name_the_row_and_column():
    wide = pd.DataFrame({"ID": [1, 2, 3], "dose": [100, 100, 100], "1h": [1.0, 2.0, 3.0], "2h": [1.0, 2.0, "abc"]})
    with pytest.raises(pkpd.DatasetError, match=r"^row 3, column 2h: value 'abc' is not a number; expected a concentration"):
        from_wide(wide, dose="dose")
    ok = wide.assign(**{"2h": [1.0, 2.0, 3.0]})
    with pytest.raises(pkpd.DatasetError, match=r"^row 2, column dose: value 0 is not a dose; expected an amount > 0"):
        from_wide(ok.assign(dose=[100, 0, 100]), dose="dose")
    with pytest.raises(pkpd.DatasetError, match=r"^row 3, column ID: value 1 appears on an earlier row too"):
        from_wide(ok.assign(ID=[1, 2, 1]), dose="dose")
    with pytest.raises(pkpd.DatasetError, match=r"column 'x' in times= is not named like a time"):
        from_wide(ok.assign(x=1.0), dose="dose", times=["1h", "x"])
    with pytest.raises(pkpd.DatasetError, match=r"no column name is a time"):
        from_wide(ok[["ID", "dose"]], dose="dose")


# ---------------------------------------------------------------------------------------------
# from_monolix
# ---------------------------------------------------------------------------------------------
def monolix_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "ID": [1, 1, 1, 1, 2, 2, 2],
        "TIME": [0, 0.5, 2, 12, 0, 1, 6],
        "AMT": [100, ".", ".", 100, 200, ".", "."],
        "ADM": [1, ".", ".", 1, 2, ".", "."],
        "TINF": [".", ".", ".", ".", 2, ".", "."],
        "Y": [".", 2.5, 3.1, 1.2, ".", 5.0, 0.1],
        "YTYPE": [".", 1, 1, 1, ".", 1, 1],
        "CENS": [0, 0, 0, 0, 0, 0, 1],
        "SEX": ["F", "F", "F", "F", "M", "M", "M"],
    })


def test_monolix_columns_map_to_nonmem():
    frame = monolix_frame()
    ds = unchanged(frame, lambda f: from_monolix(f, adm={1: "DEPOT", 2: "CENTRAL"}, ytype={1: "CENTRAL"}))
    e = ds.to_frame()
    assert list(e.columns) == EVENT + ["BLQ", "LLOQ", "SEX"]
    assert e[["TIME", "EVID", "AMT", "RATE", "CMT", "MDV"]].values.tolist() == [
        [0, 1, 100, 0, "DEPOT", 1], [0.5, 0, 0, 0, "CENTRAL", 0], [2, 0, 0, 0, "CENTRAL", 0],
        [12, 0, 0, 0, "CENTRAL", 0], [12, 1, 100, 0, "DEPOT", 1],  # Y and AMT on one row: sample, then dose
        [0, 1, 200, 100, "CENTRAL", 1], [1, 0, 0, 0, "CENTRAL", 0], [6, 0, 0, 0, "CENTRAL", 0]]
    assert e["DV"].fillna(-1).tolist() == [-1, 2.5, 3.1, 1.2, -1, -1, 5.0, 0.1]
    assert e["BLQ"].tolist() == [0, 0, 0, 0, 0, 0, 0, 1] and e["LLOQ"].fillna(-1).tolist()[-1] == 0.1
    assert ds.source_lines.tolist() == [1, 2, 3, 4, 4, 5, 6, 7]


def test_monolix_defaults_ytype_becomes_dvid_and_adm_is_the_compartment(tmp_path):
    frame = monolix_frame().drop(columns=["CENS", "TINF"])
    e = from_monolix(frame).to_frame()
    assert e["CMT"].tolist() == [1, 0, 0, 0, 1, 2, 0, 0]
    assert e.loc[e["EVID"] == 0, "DVID"].tolist() == [1, 1, 1, 1, 1]
    # a Monolix file: tab-separated, '.' for missing, lower-case names, EVID and MDV given
    path = tmp_path / "monolix.txt"
    path.write_text("id\ttime\tamt\tdv\tevid\tmdv\tii\tss\twt\n1\t0\t100\t.\t1\t1\t12\t1\t70\n"
                    "1\t1\t.\t4.2\t0\t0\t.\t.\t70\n1\t6\t.\t2.5\t0\t0\t.\t.\t70\n")
    ds = from_monolix(path)
    assert ds.source == "monolix.txt" and ds.source_lines.tolist() == [2, 3, 4]
    e = ds.to_frame()
    assert e[["TIME", "EVID", "AMT", "II", "SS", "MDV"]].values.tolist() == [[0, 1, 100, 12, 1, 1], [1, 0, 0, 0, 0, 0],
                                                                             [6, 0, 0, 0, 0, 0]]
    assert e["DV"].tolist()[1:] == [4.2, 2.5] and ds.covariates == ["wt"]
    # round trip through a NONMEM file
    out = tmp_path / "nonmem.csv"
    write_nonmem(ds, out)
    assert read_nonmem(out) == ds


def test_monolix_errors_name_the_line_and_column(tmp_path):
    frame = monolix_frame()
    with pytest.raises(pkpd.DatasetError, match=r"^row 7, column CENS: value -1 marks a right-censored observation"):
        from_monolix(frame.assign(CENS=[0, 0, 0, 0, 0, 0, -1]))
    with pytest.raises(pkpd.DatasetError, match=r"^row 5, column ADM: value 2 is not an administration type in adm=; expected one of 1"):
        from_monolix(frame, adm={1: "DEPOT"})
    path = tmp_path / "bad.csv"
    path.write_text("ID,TIME,AMT,Y\n1,0,100,.\n1,1,.,x2\n")
    with pytest.raises(pkpd.DatasetError, match=r"^bad.csv line 3, column Y: value 'x2' is not a number"):
        from_monolix(path)
    path.write_text("ID,TIME,AMT,Y\n1,0,100,.\n1,-1,.,2\n")
    with pytest.raises(pkpd.DatasetError, match=r"^bad.csv line 3, column TIME: value -1 is negative; expected a time >= 0"):
        from_monolix(path)
    with pytest.raises(pkpd.DatasetError, match=r"column DV: it holds the same data item as column 'Y'"):
        from_monolix(frame.assign(DV=1.0))


# ---------------------------------------------------------------------------------------------
# bad input, and round trips
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, kwargs, message", [
    ({}, {"time": "Time"}, r"time='Time' is not a column \(the columns are Subject, Wt, Apgar, time, dose, conc\)"),
    ({"conc": [np.nan, "17.3x"] + [np.nan] * 40}, {}, r"^row 2, column conc: value '17.3x' is not a number"),
    ({"dose": [-25.0] + [np.nan] * 41}, {}, r"^row 1, column dose: value -25 is negative; expected a dose amount >= 0"),
    ({"time": [0.0, 2.0, 1.0] + list(phenobarb()["time"][3:])}, {},
     r"^row 3, column time \(read as TIME\): value 1: TIME goes back from 2.0 without a reset"),
    ({"Subject": [1] * 12 + [2] * 14 + [1] * 16}, {},
     r"^row 27, column Subject \(read as ID\): value 1 appears again after records of other subjects"),
    ({"time": [np.inf] + list(phenobarb()["time"][1:])}, {}, r"^row 1, column time: value inf is not finite"),
    ({"route": ["po"] * 42}, {"route": "route", "routes": {"oral": 1}},
     r"^row 1, column route: value 'po' is not a route in routes=; expected one of 'oral'"),
    ({"AMT": 1.0}, {}, r"column AMT: the name is NONMEM's AMT"),
])
def test_bad_input_raises_a_dataset_error_naming_row_and_column(change, kwargs, message):
    frame = phenobarb().astype({"conc": object}) if "conc" in change else phenobarb()
    for column, values in change.items():
        frame[column] = values
    args = dict(id="Subject", time="time", conc="conc", dose="dose") | kwargs
    with pytest.raises(pkpd.DatasetError, match=message):
        unchanged(frame, lambda f: from_long(f, **args))


def test_not_a_dataframe_and_empty_frames():
    with pytest.raises(pkpd.DatasetError, match="from_long takes a DataFrame, not dict"):
        from_long({"ID": [1]}, conc="DV")
    with pytest.raises(pkpd.DatasetError, match="the DataFrame has no rows"):
        from_long(pd.DataFrame({"ID": [], "TIME": [], "DV": []}), conc="DV")
    with pytest.raises(pkpd.DatasetError, match="neither conc= nor dose= is given"):
        from_long(pd.DataFrame({"ID": [1], "TIME": [0.0]}))


@pytest.mark.parametrize("make", [
    lambda: from_long(phenobarb(), id="Subject", time="time", conc="conc", dose="dose"),
    lambda: from_long(multiple_dose_table(), id="id", time="time", conc="conc", dose="dose", interval="tau", doses="n"),
    lambda: from_long(multiple_dose_table(), id="id", time="time", conc="conc", dose="dose", interval="tau",
                      steady_state=True, duration=0.5),
    lambda: from_monolix(monolix_frame(), adm={1: "DEPOT", 2: "CENTRAL"}, ytype={1: "CENTRAL"}),
])
def test_write_nonmem_of_the_result_reads_back_equal(make, tmp_path):
    ds = make()
    path = tmp_path / "data.csv"
    write_nonmem(ds, path)
    back = read_nonmem(path)
    assert back == ds
    pd.testing.assert_frame_equal(back.to_frame(), ds.to_frame())


def test_a_covariate_named_like_a_data_item_that_no_argument_reads_warns():
    frame = multiple_dose_table()
    with pytest.warns(UserWarning, match=r"column 'tau' is kept as a covariate, and no argument reads II from a column: "
                                         r"pass interval='tau'"):
        ds = from_long(frame.drop(columns="n"), id="id", time="time", conc="conc", dose="dose")
    assert ds.covariates == ["tau", "WT"] and (ds.doses["II"] == 0).all()
