"""pkpd.population.synthetic: synthetic cohorts (truth, IIV, residual error, designs, BLQ, dropout) and the shipped
synthetic datasets."""

import copy
import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pkpd
import pkpd.population.synthetic as synthetic
from pkpd import drugs
from pkpd.errors import DatasetError, ParameterError
from pkpd.population.residual import AdditiveError, ProportionalError
from pkpd.models import OneCompartment, OneCompartmentOral, OneCompartmentMM, ParentMetabolite

REPO = Path(__file__).resolve().parents[2]
ORAL = OneCompartmentOral()
DOSE = pkpd.Bolus(320.0, cmt="DEPOT")
TYPICAL = {"CL": 2.8, "V": 32.0, "KA": 1.5}


def make(n=6, **kw):
    kw.setdefault("params", TYPICAL)
    kw.setdefault("seed", 11)
    return synthetic.cohort(ORAL, DOSE, n, **kw)


def observations(c):
    e = c.data.to_frame()
    return e.loc[(e["EVID"] == 0) & (e["MDV"] == 0)].reset_index(drop=True)


# ---- determinism ------------------------------------------------------------------------------
def test_same_seed_same_cohort_and_different_seed_differs():
    kw = dict(iiv={"CL": 0.3, "V": 0.2}, design="sparse", lloq=1.0, dropout=0.3)
    a, b, c = make(20, **kw), make(20, **kw), make(20, seed=12, **kw)
    assert a.data == b.data
    assert a.truth.equals(b.truth)
    assert a.seed == 11
    assert not a.data == c.data
    assert not np.allclose(a.truth["CL"], c.truth["CL"])


def test_seed_none_records_a_seed_that_reproduces():
    a = make(5, iiv={"CL": 0.3}, seed=None)
    b = make(5, iiv={"CL": 0.3}, seed=a.seed)
    assert a.data == b.data


def test_streams_are_independent_design_does_not_change_parameters():
    """Same seed, another design/error/LLOQ: the same individual parameters."""
    a = make(30, iiv={"CL": 0.3}, design="rich")
    b = make(30, iiv={"CL": 0.3}, design="sparse", error=AdditiveError(0.5), lloq=1.0, dropout=0.5)
    assert np.array_equal(a.truth["CL"], b.truth["CL"])


# ---- inter-individual variability -------------------------------------------------------------
def test_log_normal_iiv_has_the_requested_sd():
    c = synthetic.cohort(OneCompartment(), pkpd.Bolus(100), 2000, params={"CL": 5.0}, iiv={"CL": 0.3, "V": 0.1},
                         design=[1.0], seed=5)
    t = c.truth
    log_ratio = np.log(t["CL"] / 5.0)
    assert abs(log_ratio.std(ddof=1) - 0.3) < 0.02
    assert abs(log_ratio.mean()) < 0.03
    assert abs(np.log(t["V"] / 50.0).std(ddof=1) - 0.1) < 0.01
    assert np.allclose(log_ratio, t["ETA_CL"])
    assert c.omega == pytest.approx({"CL": 0.3, "V": 0.1})


def test_full_covariance_gives_the_correlation_and_a_singular_omega_shares_one_eta():
    names = ["CL", "V"]
    cov = pd.DataFrame([[0.09, 0.6 * 0.3 * 0.2], [0.6 * 0.3 * 0.2, 0.04]], index=names, columns=names)
    before = cov.copy()
    c = synthetic.cohort(OneCompartment(), pkpd.Bolus(100), 2000, iiv=cov, design=[1.0], seed=2)
    assert cov.equals(before)
    eta = c.truth[["ETA_CL", "ETA_V"]].to_numpy()
    assert abs(np.corrcoef(eta.T)[0, 1] - 0.6) < 0.05
    assert abs(eta[:, 1].std() - 0.2) < 0.015
    same = synthetic.cohort(OneCompartment(), pkpd.Bolus(100), 50, iiv=(names, [[0.09, 0.09], [0.09, 0.09]]),
                            design=[1.0], seed=2)
    assert np.allclose(same.truth["ETA_CL"], same.truth["ETA_V"])
    assert same.iiv.loc["CL", "V"] == 0.09


def test_covariate_effects_and_callable_covariates():
    def weights(rng, n):
        return pd.DataFrame({"WT": np.round(rng.uniform(50, 100, n), 1), "SEX": rng.integers(0, 2, n)})

    c = make(40, covariates=weights, covariate_model={"CL": lambda row: (row.WT / 70) ** 0.75,
                                                      "V": lambda row: 1.2 if row["SEX"] == 1 else 1.0})
    t = c.truth
    assert np.allclose(t["CL"], 2.8 * (t["WT"] / 70) ** 0.75)
    assert np.allclose(t["V"], np.where(t["SEX"] == 1, 38.4, 32.0))
    e = c.data.to_frame()
    assert np.array_equal(e["WT"].to_numpy(), t.set_index("ID").loc[e["ID"], "WT"].to_numpy())
    assert c.data.covariates == ["WT", "SEX"]


def test_weight_based_regimen_callable():
    wt = pd.DataFrame({"WT": [40.0, 80.0, 60.0]})
    c = synthetic.cohort(ORAL, lambda id_, row: pkpd.Bolus(5 * row.WT, cmt="DEPOT"), 3, covariates=wt, seed=1)
    assert c.data.doses["AMT"].tolist() == [200.0, 400.0, 300.0]
    assert c.data.doses["CMT"].tolist() == [1, 1, 1]


# ---- residual error -----------------------------------------------------------------------------
def test_dv_scatter_around_the_noiseless_prediction_with_the_error_cv():
    c = make(300, iiv={"CL": 0.3, "V": 0.3}, error=ProportionalError(0.2), seed=3)
    ipred = np.asarray(pkpd.simulate(ORAL, c.data, c.params)["CP"])
    assert np.array_equal(ipred, np.asarray(c.predict()["CP"]))
    obs = (c.data.events["EVID"] == 0).to_numpy()
    rel = c.data.events["DV"].to_numpy()[obs] / ipred[obs] - 1
    assert rel.size == 3000
    assert abs(rel.std(ddof=1) - 0.2) < 0.01
    assert abs(rel.mean()) < 0.01


def test_additive_error_sd_and_digits_rounding():
    c = make(200, error=AdditiveError(0.5), digits=3, seed=4)
    ipred = np.asarray(c.predict()["CP"])
    obs = (c.data.events["EVID"] == 0).to_numpy()
    dv = c.data.events["DV"].to_numpy()[obs]
    assert abs((dv - ipred[obs]).std(ddof=1) - 0.5) < 0.03
    assert all(len(f"{abs(v):.15g}".replace(".", "").lstrip("0")) <= 3 for v in dv)


# ---- BLQ (M3 convention) -----------------------------------------------------------------------
def test_blq_flags_exactly_the_drawn_values_below_lloq():
    plain = make(50, iiv={"CL": 0.4}, error=ProportionalError(0.3))
    censored = make(50, iiv={"CL": 0.4}, error=ProportionalError(0.3), lloq=3.0)
    drawn = observations(plain)["DV"].to_numpy()
    obs = observations(censored)
    expected = drawn < 3.0
    assert 20 < expected.sum() < len(drawn) - 20
    assert np.array_equal(obs["BLQ"].to_numpy() == 1, expected)
    assert np.all(obs["DV"].to_numpy()[expected] == 3.0)
    assert np.array_equal(obs["DV"].to_numpy()[~expected], drawn[~expected])
    assert np.all(obs["LLOQ"] == 3.0) and np.all(obs["MDV"] == 0)
    doses = censored.data.doses
    assert np.all(doses["BLQ"] == 0) and doses["LLOQ"].isna().all()


# ---- dropout -----------------------------------------------------------------------------------
def test_dropout_removes_only_the_later_observations():
    full = make(30, iiv={"CL": 0.3})
    out = make(30, iiv={"CL": 0.3}, dropout=1.0)
    t_drop = out.truth.set_index("ID")["DROPOUT_TIME"]
    assert t_drop.notna().all() and np.all((t_drop >= 0.25) & (t_drop <= 24))
    a, b = observations(full), observations(out)
    keep = a["TIME"].to_numpy() <= t_drop.loc[a["ID"]].to_numpy()
    assert keep.sum() < len(a)
    assert np.array_equal(b[["ID", "TIME", "DV"]].to_numpy(), a.loc[keep, ["ID", "TIME", "DV"]].to_numpy())
    assert len(out.data.doses) == 30
    assert (b.groupby("ID").size() >= 1).all() and len(out.data) == 30
    none = make(30, iiv={"CL": 0.3}, dropout=0.0)
    assert none.data.to_frame().equals(full.data.to_frame()) and none.truth["DROPOUT_TIME"].isna().all()
    half = make(400, dropout=0.5, design=[1.0, 2.0])
    assert abs(half.truth["DROPOUT_TIME"].notna().mean() - 0.5) < 0.08


# ---- designs -----------------------------------------------------------------------------------
def test_rich_design_single_dose_and_steady_state():
    c = make(2)
    assert observations(c).query("ID == 1")["TIME"].tolist() == list(synthetic.RICH_TIMES)
    ss = synthetic.cohort(ORAL, pkpd.Bolus(100, cmt="DEPOT", ii=12, ss=1), 2, seed=1)
    assert observations(ss).query("ID == 1")["TIME"].tolist() == [t / 2 for t in synthetic.RICH_TIMES]
    multi = synthetic.cohort(ORAL, pkpd.Bolus(100, cmt="DEPOT", ii=12, addl=3), 1, seed=1)
    times = observations(multi)["TIME"].to_numpy()
    assert np.allclose(times, np.unique(np.r_[np.array(synthetic.RICH_TIMES) / 2, 36 + np.array(synthetic.RICH_TIMES) / 2]))


def test_sparse_design_two_to_four_samples_in_the_windows():
    c = make(200, design="sparse")
    obs = observations(c)
    counts = obs.groupby("ID").size()
    assert counts.between(2, 4).all() and set(counts) == {2, 3, 4}
    assert obs["TIME"].between(0.25, 24).all()
    assert np.allclose(obs["TIME"], obs["TIME"].round(2))
    window = np.searchsorted([1.0, 4.0, 12.0], obs["TIME"].to_numpy(), side="right")
    assert not pd.DataFrame({"ID": obs["ID"], "w": window}).duplicated().any()  # one sample per window


def test_fixed_times_predose_sample_and_ode_model():
    c = synthetic.cohort(OneCompartmentMM(), pkpd.Bolus(500) + pkpd.Bolus(500, time=12), 3, design=[0, 6, 12, 18],
                         iiv={"VMAX": 0.2}, seed=9)
    e = c.data.to_frame().query("ID == 1")
    assert e["EVID"].tolist() == [0, 1, 0, 0, 1, 0]  # samples at dose times come before the dose
    pred = np.asarray(c.predict()["CP"])[: len(e)]
    assert pred[0] == 0 and pred[3] > 0 and c.data.to_frame()["CMT"].tolist()[:2] == [1, 1]


def test_several_outputs_get_dvid():
    c = synthetic.cohort(ParentMetabolite(), pkpd.Bolus(100, cmt="DEPOT"), 3, output=["CP", "CM"], seed=1)
    obs = observations(c)
    assert len(obs) == 60 and obs["DVID"].tolist()[:4] == [1, 2, 1, 2]
    assert obs["CMT"].tolist()[:2] == [2, 0]
    ipred = c.predict().to_frame()
    rows = (c.data.events["EVID"] == 0).to_numpy()
    f = np.where(obs["DVID"] == 1, ipred["CP"].to_numpy()[rows], ipred["CM"].to_numpy()[rows])
    assert abs((obs["DV"] / f - 1).std() - 0.1) < 0.03


# ---- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, error, text", [
    (dict(iiv={"CLX": 0.3}), ParameterError, "CLX"),
    (dict(iiv={"CL": -0.3}), ParameterError, "omega of CL"),
    (dict(iiv=(["CL", "V"], [[0.09, 0.2], [0.2, 0.04]])), ParameterError, "positive semi-definite"),
    (dict(iiv=pd.DataFrame([[0.1]], index=["V"], columns=["CL"])), ParameterError, "index and columns"),
    (dict(params={"Vd": 3.0}), ParameterError, "Vd"),
    (dict(output="CQ"), ParameterError, "CQ"),
    (dict(covariate_model={"QQ": lambda r: 1.0}), ParameterError, "QQ"),
    (dict(covariates=pd.DataFrame({"WT": [70.0]}), covariate_model={"CL": lambda r: -1.0}), ParameterError, "factor"),
    (dict(error="proportional"), ParameterError, "residual error model"),
    (dict(n=0), DatasetError, "n=0"),
    (dict(n=2.5), DatasetError, "n=2.5"),
    (dict(design="dense"), DatasetError, "'dense'"),
    (dict(design=[1.0, -2.0]), DatasetError, "-2.0"),
    (dict(lloq=-1.0), DatasetError, "lloq"),
    (dict(dropout=1.5), DatasetError, "dropout=1.5"),
    (dict(covariates=pd.DataFrame({"WT": [70.0, 80.0]})), DatasetError, "2 rows"),
    (dict(covariates=pd.DataFrame({"DV": [1.0]})), DatasetError, "'DV'"),
    (dict(seed=-1), DatasetError, "seed"),
])
def test_bad_input_names_the_item(kw, error, text):
    kw = {"n": 1, **kw}
    n = kw.pop("n")
    with pytest.raises(error, match=None) as info:
        synthetic.cohort(ORAL, DOSE, n, **kw)
    assert text in str(info.value)


def test_bad_regimen_and_compartment():
    with pytest.raises(DatasetError, match="regimen"):
        synthetic.cohort(ORAL, "320 mg", 2)
    with pytest.raises(DatasetError, match="PERIPH"):
        synthetic.cohort(ORAL, pkpd.Bolus(1, cmt="PERIPH"), 2)


def test_inputs_are_not_modified():
    params, iiv = dict(TYPICAL), {"CL": 0.3}
    cov = pd.DataFrame({"WT": [60.0, 70.0, 80.0], "ID": [1, 2, 3]})
    saved = copy.deepcopy((params, iiv)), cov.copy()
    c = make(3, params=params, iiv=iiv, covariates=cov, covariate_model={"CL": lambda r: r.WT / 70})
    assert (params, iiv) == saved[0] and cov.equals(saved[1])
    t = c.truth
    t["CL"] = 0.0
    assert (c.truth["CL"] > 0).all()  # the cohort hands out copies
    with pytest.raises(Exception):
        c.seed = 3


def test_to_csv_round_trip(tmp_path):
    c = make(4, iiv={"CL": 0.3}, lloq=1.0, covariates=pd.DataFrame({"WT": [1.0, 2, 3, 4]}))
    data, truth = c.to_csv(tmp_path / "x.csv")
    assert pkpd.read_nonmem(data) == c.data
    back = pd.read_csv(truth)
    assert list(back.columns) == list(c.truth.columns)
    assert np.allclose(back["CL"], c.truth["CL"], rtol=1e-11)


# ---- the shipped datasets ----------------------------------------------------------------------
def _script():
    spec = importlib.util.spec_from_file_location("make_synthetic_datasets", REPO / "datasets" / "make_synthetic_datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_synthetic_datasets_regenerate_byte_identically(tmp_path):
    sums = _script().write(tmp_path)
    assert len(sums) == 6
    for name, digest in sums.items():
        for folder in (REPO / "datasets", REPO / "pkpd" / "io" / "data"):
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, f"{folder.name}/{name}"
        assert f"{digest}  {name}" in (REPO / "datasets" / "README.md").read_text(), f"README checksum of {name}"


def test_shipped_clobazam_dataset_genotypes_match_with_genotype():
    folder = REPO / "datasets"
    data = pkpd.read_nonmem(folder / "synthetic_clobazam_cyp2c19.csv")
    truth = pd.read_csv(folder / "synthetic_clobazam_cyp2c19_truth.csv")
    assert len(data) == 40 and set(data.to_frame()["DVID"]) == {0, 1, 2}
    for diplotype, act in truth[["CYP2C19", "NCLB_LIVER.ACT_CYP2C19"]].drop_duplicates().itertuples(index=False):
        assert act == drugs.clobazam().with_genotype("CYP2C19", diplotype).params["NCLB_LIVER.ACT_CYP2C19"]
    assert truth["PM"].sum() >= 1
    assert np.allclose(truth["NCLB.CLF"] / truth["CLB.CL"], drugs.clobazam().params["NCLB.CLF"] / 2.0)


def test_shipped_two_compartment_dataset_has_blq_at_a_fifth_of_typical_cmax():
    script = _script()
    data = pkpd.read_nonmem(REPO / "datasets" / "synthetic_oral_2cmt_blq.csv")
    obs = data.to_frame().query("EVID == 0")
    lloq = obs["LLOQ"].iloc[0]
    assert abs(lloq / script.typical_cmax_2cmt() - 0.2) < 0.01
    assert 0.1 < obs["BLQ"].mean() < 0.5
    assert np.all(obs.loc[obs["BLQ"] == 1, "DV"] == lloq)
