"""pkpd.npde: the decorrelation against hand computations on a model that is exactly normal, alignment with
a fit's diagnostics, BLQ records, and bad arguments."""

import importlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr, ndtri

import pkpd
from pkpd.models import OneCompartment
from pkpd.population import PopulationModel

npde_module = importlib.import_module("pkpd.estimation.npde")

THETA, OMEGA2, SIGMA = 10.0, 4.0, 1.5
N_SUB, N_REP = 8, 4


def random_intercept(lloq=None):
    """y_ij = B + eta_i + eps_ij (the concentration at t = 0 after a bolus of 100 into V = 100 / (B + eta)):
    exactly normal, mean B, covariance SIGMA^2 I + OMEGA2 J per subject (as in test_population_foce)."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(1, N_SUB + 1):
        eta = rng.normal(0, math.sqrt(OMEGA2))
        rows.append({"ID": i, "TIME": 0.0, "AMT": 100.0, "DV": np.nan})
        rows += [{"ID": i, "TIME": 0.0, "AMT": 0.0, "DV": THETA + eta + rng.normal(0, SIGMA)} for _ in range(N_REP)]
    frame = pd.DataFrame(rows)
    if lloq is not None:
        frame["LLOQ"] = lloq
    data = pkpd.read_nonmem(frame)
    pm = PopulationModel(OneCompartment(), {"B": THETA}, {"B": OMEGA2}, pkpd.AdditiveError(SIGMA),
                         individual=lambda th, eta: {"V": 100.0 / (th["B"] + eta[:, 0]), "CL": 1.0})
    return pm, data


def test_decorrelation_equals_the_hand_computation():
    """Per subject: the empirical mean and covariance (ddof 1) of the simulated vectors, its Cholesky factor,
    the decorrelated vectors, the fraction below, the 1/(2K) correction and Phi^-1 -- recomputed by hand from
    the same simulated replicates (one call of PopulationModel.simulate with the seed)."""
    pm, data = random_intercept()
    k = 200
    table = pkpd.npde(pm, data, n_sim=k, seed=11)
    sims = pm.simulate(data, k, seed=11)["DV"].to_numpy().reshape(k, -1)
    obs = data.observations
    expected = []
    for i, sid in enumerate(obs["ID"].unique()):
        cols = np.flatnonzero(obs["ID"].to_numpy() == sid)
        y, sim = obs["DV"].to_numpy()[cols], sims[:, cols]
        mean = sim.sum(axis=0) / k
        centred = sim - mean
        cov = centred.T @ centred / (k - 1)
        chol = np.linalg.cholesky(cov)
        y_dec = np.linalg.inv(chol) @ (y - mean)
        sim_dec = (np.linalg.inv(chol) @ centred.T).T
        pde = (sim_dec < y_dec).sum(axis=0) / k
        pde = np.where(pde == 0, 1 / (2 * k), np.where(pde == 1, 1 - 1 / (2 * k), pde))
        expected.append(pde)
    expected = np.concatenate(expected)
    assert table["PDE"].to_numpy() == pytest.approx(expected, abs=1e-12)
    assert table["NPDE"].to_numpy() == pytest.approx(ndtri(expected), abs=1e-12)
    assert table[["ID", "TIME"]].equals(obs[["ID", "TIME"]])


def test_two_by_two_cholesky_by_hand():
    """One subject, two records, four replicates: the Cholesky factor of a 2 x 2 covariance written out
    (l11 = sqrt(a), l21 = b / l11, l22 = sqrt(c - l21^2)) and the counts by hand."""
    sims = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]])
    y = np.array([2.6, 2.0])
    mean = np.array([2.5, 2.75])
    a = ((sims[:, 0] - 2.5) ** 2).sum() / 3                       # 5/3
    b = ((sims[:, 0] - 2.5) * (sims[:, 1] - 2.75)).sum() / 3      # 3.5/3
    c = ((sims[:, 1] - 2.75) ** 2).sum() / 3                      # 8.75/3
    l11 = math.sqrt(a)
    l21 = b / l11
    l22 = math.sqrt(c - l21**2)

    def dec(v):
        z1 = (v[0] - mean[0]) / l11
        return np.array([z1, (v[1] - mean[1] - l21 * z1) / l22])

    y_dec = dec(y)
    sim_dec = np.array([dec(s) for s in sims])
    by_hand = (sim_dec < y_dec).mean(axis=0)
    assert by_hand.tolist() == [0.5, 0.25]                       # (y1 above 1 and 2; y2* above one replicate)
    assert npde_module._decorrelated_pde(y, sims) == pytest.approx(by_hand, abs=1e-15)
    # an observation beyond every replicate gets 1 - 1/(2K), below every one 1/(2K)
    assert npde_module._decorrelated_pde(np.array([100.0, 2.0]), sims)[0] == 1 - 1 / 8
    assert npde_module._decorrelated_pde(np.array([-100.0, 2.0]), sims)[0] == 1 / 8


def test_many_replicates_approach_the_exact_decorrelation():
    """With 4000 replicates the NPDE approach the exact ones: the marginal distribution of a subject's vector
    is N(B 1, SIGMA^2 I + OMEGA2 J), so NPDE -> L^-1 (y - B) with L the exact Cholesky factor. Measured (seed 5):
    PDE within 0.019, NPDE (|NPDE| < 2.5, where 4000 replicates resolve Phi^-1) within 0.117, mean absolute
    difference 0.026 -- against 0.38 for NPDE computed without decorrelation."""
    pm, data = random_intercept()
    table = pkpd.npde(pm, data, n_sim=4000, seed=5)
    obs = data.observations
    cov = SIGMA**2 * np.eye(N_REP) + OMEGA2 * np.ones((N_REP, N_REP))
    chol = np.linalg.cholesky(cov)
    exact = np.concatenate([np.linalg.solve(chol, g["DV"].to_numpy() - THETA) for _, g in obs.groupby("ID")])
    assert table["PDE"].to_numpy() == pytest.approx(ndtr(exact), abs=0.04)
    central = np.abs(exact) < 2.5
    assert central.sum() >= 28
    error = np.abs(table["NPDE"].to_numpy() - exact)[central]
    assert error.max() < 0.2 and error.mean() < 0.05
    undecorrelated = (obs["DV"].to_numpy() - THETA) / math.sqrt(SIGMA**2 + OMEGA2)
    assert np.abs(undecorrelated - exact)[central].mean() > 0.3        # the check can tell


def test_npde_of_a_fit_follows_its_diagnostics_and_blq_records_are_nan():
    """The rows are the fit's diagnostics rows (all records after an M3 fit, the quantified ones after M1);
    BLQ records are NaN; the wrong data raise DatasetError."""
    pm, data = random_intercept(lloq=8.5)
    blq = data.observations["DV"].to_numpy() < 8.5
    assert 2 <= blq.sum() <= 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m3 = pkpd.fit_population(pm, data, covariance=False, progress=False)
        m1 = pkpd.fit_population(pm, data, blq="M1", covariance=False, progress=False)
    table = pkpd.npde(m3, data, n_sim=100, seed=1)
    assert table[["ID", "TIME"]].equals(m3.diagnostics[["ID", "TIME"]])
    assert np.array_equal(table["NPDE"].isna().to_numpy(), blq)
    table1 = pkpd.npde(m1, data, n_sim=100, seed=1)
    assert len(table1) == (~blq).sum() and table1["NPDE"].notna().all()
    assert table1[["ID", "TIME"]].equals(m1.diagnostics[["ID", "TIME"]])
    # the quantified records get the same NPDE whichever BLQ method the fit used (same model, same seed)
    assert table1["NPDE"].to_numpy() == pytest.approx(pkpd.npde(m1.final_model, data, n_sim=100, seed=1)
                                                      .loc[~blq, "NPDE"].to_numpy())

    other = pkpd.read_nonmem(data.events.assign(TIME=np.where(data.events["EVID"] == 0, 1.0, 0.0)))
    with pytest.raises(pkpd.DatasetError, match="differ"):
        pkpd.npde(m3, other, n_sim=20)
    with pytest.raises(pkpd.DatasetError, match="observation records"):
        pkpd.npde(m3, data.subject(1), n_sim=20)


def test_constant_simulated_values_give_nan():
    """A pre-dose sample (zero prediction, proportional error: simulated values within the error model's
    1e-12 floor) has no distribution: NaN, the others finite."""
    frame = pd.DataFrame({"ID": [1, 1, 1, 1, 2, 2, 2, 2], "TIME": [0, 0, 2, 6, 0, 0, 2, 6],
                          "AMT": [0, 100, 0, 0, 0, 100, 0, 0], "EVID": [0, 1, 0, 0, 0, 1, 0, 0],
                          "DV": [0.0, np.nan, 5.0, 3.0, 0.0, np.nan, 6.0, 2.5]})
    data = pkpd.read_nonmem(frame)
    pm = PopulationModel(OneCompartment(), {"CL": 5.0, "V": 15.0}, {"CL": 0.1}, pkpd.ProportionalError(0.2))
    table = pkpd.npde(pm, data, n_sim=50, seed=1)
    assert table["NPDE"].isna().tolist() == [True, False, False, True, False, False]


def test_bad_arguments():
    pm, data = random_intercept()
    for n_sim in (5, 9, 10.0, True, "100"):
        with pytest.raises(pkpd.ParameterError, match="n_sim"):
            pkpd.npde(pm, data, n_sim=n_sim)
    with pytest.raises(pkpd.ParameterError, match="dataset"):
        pkpd.npde(pm, 500)
    with pytest.raises(pkpd.ParameterError, match="data the model was fitted to"):
        pkpd.npde(pm)
    with pytest.raises(pkpd.ParameterError, match="PopulationModel"):
        pkpd.npde("model", data)


def test_replicates_are_simulated_in_chunks(monkeypatch):
    """Large simulations run in chunks of replicates (here 3 replicates of 40 records per call): every
    replicate is filled, from one random stream (reproducible with the seed)."""
    replicates = importlib.import_module("pkpd.estimation._replicates")
    monkeypatch.setattr(replicates, "_CHUNK_RECORDS", 120)
    pm, data = random_intercept()
    calls = []
    original = PopulationModel.simulate

    def counting(self, *args, **kwargs):
        calls.append(args[1])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PopulationModel, "simulate", counting)
    dv, pred = replicates.simulate_replicates(pm, data, 20, np.random.default_rng(1), 32)
    assert calls == [3] * 6 + [2]
    assert np.isfinite(dv).all() and len(np.unique(dv.round(12), axis=0)) == 20
    assert pred == pytest.approx(np.full(32, THETA))
    again, _ = replicates.simulate_replicates(pm, data, 20, np.random.default_rng(1), 32)
    assert np.array_equal(dv, again)
    table = pkpd.npde(pm, data, n_sim=20, seed=1)
    assert table["NPDE"].notna().all()


def test_npde_with_exponential_error_are_decorrelated_on_the_log_scale():
    """LTBS: log y_ij = log B + eta_i + eps_ij exactly (concentration at t = 0 after a bolus of 100 into
    V = 100 / (B exp(eta))), so the NPDE approach L^-1 (log y - log B) with L the Cholesky factor of
    ``s^2 I + omega^2 J`` -- on the logs, where the model is normal. Measured (seed 5, 4000 replicates): largest
    difference 0.068, mean 0.023, against a mean 0.28 for the same decorrelation of the untransformed values."""
    s, omega2, b = 0.3, 0.2, 10.0
    rng = np.random.default_rng(8)
    rows = []
    for i in range(1, N_SUB + 1):
        eta = rng.normal(0, math.sqrt(omega2))
        rows.append({"ID": i, "TIME": 0.0, "AMT": 100.0, "DV": np.nan})
        rows += [{"ID": i, "TIME": 0.0, "AMT": 0.0, "DV": b * math.exp(eta + rng.normal(0, s))} for _ in range(N_REP)]
    data = pkpd.read_nonmem(pd.DataFrame(rows))
    pm = PopulationModel(OneCompartment(), {"B": b}, {"B": omega2}, pkpd.ExponentialError(s),
                         individual=lambda th, eta: {"V": 100.0 / (th["B"] * np.exp(eta[:, 0])), "CL": 1.0})
    table = pkpd.npde(pm, data, n_sim=4000, seed=5)
    chol = np.linalg.cholesky(s**2 * np.eye(N_REP) + omega2 * np.ones((N_REP, N_REP)))
    groups = [g["DV"].to_numpy() for _, g in data.observations.groupby("ID")]
    exact = np.concatenate([np.linalg.solve(chol, np.log(y) - math.log(b)) for y in groups])
    central = np.abs(exact) < 2.5
    error = np.abs(table["NPDE"].to_numpy() - exact)[central]
    assert central.sum() >= 28 and error.max() < 0.2 and error.mean() < 0.05
    # the same decorrelation of the untransformed values is measurably different: the check can tell
    sims = pm.simulate(data, 4000, seed=5)["DV"].to_numpy().reshape(4000, -1)
    natural = np.concatenate([npde_module._decorrelated_pde(y, sims[:, k * N_REP:(k + 1) * N_REP])
                              for k, y in enumerate(groups)])
    assert np.abs(ndtri(natural) - exact)[central].mean() > 0.15
