"""Between-occasion variability (issue 19, item 5): ``pkpd.IOV`` in the population model, its objective,
simulation, MAP estimates and stored form.

The objective is checked against two references that set nothing:

- a model whose output is linear in its random effects (``E = BASE``, BASE on the identity scale) with additive
  error: the FO, FOCE and FOCE-I objectives are then the exact marginal -2 log-likelihood, computed here by
  scipy's multivariate normal with covariance ``omega^2 11' + gamma^2 ZZ' + sigma^2 I`` (Z: the occasion of each
  observation);
- one occasion per subject: ``eta + kappa`` is then one random effect of variance ``omega^2 + gamma^2``, and the
  objective must equal that of the model without IOV (the Laplace approximation is invariant to the direction
  the data cannot see).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

import pkpd
from pkpd.errors import DatasetError, ParameterError
from pkpd.estimation._objective import Objective, PopData
from pkpd.models import OneCompartmentOral, from_text
from pkpd.population.spec import popmodel_from_spec, popmodel_to_spec

BASELINE = """
[PARAM] BASE = 10
[CMT] A
[MAIN] E = BASE
[ODE] dA = 0
[OUTPUT] E
"""


@pytest.fixture(scope="module")
def baseline():
    return from_text(BASELINE, name="Baseline")


def _linear_data(seed=3, n=6):
    """Subjects with 2-3 occasions (OCC 1..3), 2-4 observations each; a token dose into A (which E ignores)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(1, n + 1):
        rows.append({"ID": i, "TIME": 0.0, "AMT": 1.0, "EVID": 1, "DV": np.nan, "OCC": 1})
        t = 0.0
        for occ in range(1, 2 + (i % 2) + 1):
            for _ in range(rng.integers(2, 5)):
                t += 1.0
                rows.append({"ID": i, "TIME": t, "AMT": 0.0, "EVID": 0, "DV": 10 + rng.normal(0, 1.5), "OCC": occ})
    return pd.DataFrame(rows)


def _baseline_model(model, omega=0.8, gamma=0.5, sd=0.6, iov=True):
    return pkpd.PopulationModel(model, {"BASE": 10.4}, {"BASE": omega}, pkpd.AdditiveError(sd),
                                transforms={"BASE": "identity"},
                                iov=pkpd.IOV({"BASE": gamma}) if iov else None)


def _exact_ofv(frame, theta, omega, gamma, sd, occasions=(1, 2, 3)):
    """-2 log-likelihood (without n log 2 pi) of the observations, kappa on the ``occasions`` only."""
    obs = frame[frame["EVID"] == 0]
    total = 0.0
    for _, rows in obs.groupby("ID"):
        occ = rows["OCC"].to_numpy()
        kappa = np.isin(occ, occasions)
        same = (occ[:, None] == occ[None, :]) & np.outer(kappa, kappa)
        cov = omega + gamma * same + sd**2 * np.eye(len(rows))
        y = rows["DV"].to_numpy(float)
        total += -2 * multivariate_normal(np.full(len(y), theta), cov).logpdf(y) - len(y) * math.log(2 * math.pi)
    return total


@pytest.mark.parametrize("method", ["FOCEI", "FOCE", "FO"])
def test_objective_is_the_exact_likelihood_of_a_linear_model(baseline, method):
    frame = _linear_data()
    pm = _baseline_model(baseline)
    ofv = pkpd.population_ofv(pm, frame, method=method)
    assert ofv == pytest.approx(_exact_ofv(frame, 10.4, 0.8, 0.5, 0.6), abs=1e-7)
    # and the IOV term matters: without it the objective differs by far more than the tolerance
    assert abs(pkpd.population_ofv(_baseline_model(baseline, iov=False), frame, method=method) - ofv) > 1.0


@pytest.mark.parametrize("method", ["FOCEI", "FO"])
def test_one_occasion_per_subject_equals_one_random_effect_of_the_summed_variance(method):
    data = pkpd.load_dataset("theophylline")
    events = data.events.assign(OCC=(data.events["ID"].astype(int) % 3) + 1)     # each subject: one occasion
    model = OneCompartmentOral()
    with_iov = pkpd.PopulationModel(model, {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.06, "KA": 0.4},
                                    pkpd.CombinedError(0.3, 0.1), iov=pkpd.IOV({"CL": 0.04, "KA": 0.1}))
    summed = pkpd.PopulationModel(model, {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.10, "KA": 0.5},
                                  pkpd.CombinedError(0.3, 0.1))
    values = []
    for pm in (with_iov, summed):
        objective = Objective(pm, PopData(pm, pkpd.read_nonmem(events), "auto"), method)
        objective.h = 1e-3        # the same eta step in both (the IOV model's parameters change at records)
        values.append(objective(pm.theta_values, pm.random_effect_matrix, pm.error_parameters))
    assert values[0] == pytest.approx(values[1], abs=1e-7)


def test_occasions_not_listed_carry_no_iov(baseline):
    frame = _linear_data()
    pm = pkpd.PopulationModel(baseline, {"BASE": 10.4}, {"BASE": 0.8}, pkpd.AdditiveError(0.6),
                              transforms={"BASE": "identity"}, iov=pkpd.IOV({"BASE": 0.5}, occasions=(1, 3)))
    # occasion 2 has no kappa: its observations share only eta (NONMEM's indicator code, VIS2 = 0)
    assert pkpd.population_ofv(pm, frame) == pytest.approx(_exact_ofv(frame, 10.4, 0.8, 0.5, 0.6, (1, 3)), abs=1e-7)
    assert pkpd.population_ofv(pm, frame) != pytest.approx(_exact_ofv(frame, 10.4, 0.8, 0.5, 0.6), abs=1e-3)


def test_simulated_effects_have_the_iov_covariance(baseline):
    frame = _linear_data(n=2)
    pm = _baseline_model(baseline)
    sim = pm.simulate(frame, 4000, seed=11, residual=False)
    obs = frame[frame["EVID"] == 0].reset_index(drop=True)
    values = sim["IPRED"].to_numpy().reshape(4000, len(obs))
    cov = np.cov(values, rowvar=False)
    occ, ids = obs["OCC"].to_numpy(), obs["ID"].to_numpy()
    same_subject = ids[:, None] == ids[None, :]
    same_occasion = same_subject & (occ[:, None] == occ[None, :])
    # var(eta + kappa) = 1.3, cov across occasions of a subject 0.8, across subjects 0 (SE of each ~0.03)
    assert cov[same_occasion].mean() == pytest.approx(1.3, abs=0.08)
    assert cov[same_subject & ~same_occasion].mean() == pytest.approx(0.8, abs=0.08)
    assert np.abs(cov[~same_subject]).max() < 0.15
    assert sim["PRED"].to_numpy() == pytest.approx(10.4)


def test_map_estimate_reports_each_occasion_and_the_parameters_between_occasions(baseline):
    frame = _linear_data()
    pm = _baseline_model(baseline)
    est = pkpd.map_estimate(pm, frame)
    assert {"ETA_BASE", "ETA_IOV_BASE[1]", "ETA_IOV_BASE[2]", "ETA_IOV_BASE[3]", "SE_ETA_IOV_BASE[3]"} <= set(est)
    # the linear-Gaussian posterior mean of eta, by hand for subject 1 (observations y, occasions occ)
    obs = frame[(frame["EVID"] == 0) & (frame["ID"] == 1)]
    occ = obs["OCC"].to_numpy()
    z = np.column_stack([np.ones(len(obs))] + [(occ == k).astype(float) for k in (1, 2, 3)])
    prior = np.diag([0.8, 0.5, 0.5, 0.5])
    cov = z @ prior @ z.T + 0.36 * np.eye(len(obs))
    posterior_mean = prior @ z.T @ np.linalg.solve(cov, obs["DV"].to_numpy(float) - 10.4)
    row = est.iloc[0]
    assert [row["ETA_BASE"], row["ETA_IOV_BASE[1]"], row["ETA_IOV_BASE[2]"], row["ETA_IOV_BASE[3]"]] == \
        pytest.approx(posterior_mean, abs=1e-6)
    assert row["BASE"] == pytest.approx(10.4 + posterior_mean[0], abs=1e-6)


def test_a_fit_reports_iov_variances_and_stores_them(baseline):
    frame = _linear_data(n=12)
    frame.loc[frame["EVID"] == 0, "DV"] = _baseline_model(baseline).simulate(frame, seed=2)["DV"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pkpd.ConvergenceWarning)
        fit = pkpd.fit_population(_baseline_model(baseline), frame, progress=False, covariance="R")
    assert list(fit.omega.index) == ["BASE", "IOV_BASE"]
    assert list(fit.etas.columns) == ["ID", "ETA_BASE", "ETA_IOV_BASE[1]", "ETA_IOV_BASE[2]", "ETA_IOV_BASE[3]"]
    assert {"omega2_IOV_BASE", "omega2_BASE"} <= set(fit.table().index)
    assert "eta_IOV_BASE" in fit.shrinkage
    final = fit.final_model
    assert final.iov.omega.loc["BASE", "BASE"] == pytest.approx(fit.omega.loc["IOV_BASE", "IOV_BASE"])
    assert final.omega.loc["BASE", "BASE"] == pytest.approx(fit.omega.loc["BASE", "BASE"])
    assert pkpd.population_ofv(final, frame) == pytest.approx(fit.ofv, abs=1e-6)


def test_the_stored_form_keeps_the_iov():
    pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.1},
                              pkpd.ProportionalError(0.1),
                              iov=pkpd.IOV({"CL": 0.02, "KA": 0.2}, column="VISI", occasions=(3, 8)))
    back = popmodel_from_spec(popmodel_to_spec(pm), "fit.json")
    assert back.iov.column == "VISI" and back.iov.occasions == (3, 8)
    assert back.iov.omega.equals(pm.iov.omega)
    spec = popmodel_to_spec(pm)
    spec["iov"]["matrix"] = [[0.02, 0.0], [0.0, -1.0]]
    with pytest.raises(DatasetError, match="fit.json.*positive definite"):
        popmodel_from_spec(spec, "fit.json")


def test_a_trial_patient_is_one_occasion():
    from pkpd.trials._sources import PopulationSource

    pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.09},
                              pkpd.ProportionalError(0.1), iov=pkpd.IOV({"CL": 0.04}))
    values = PopulationSource(pm)(pd.DataFrame(index=range(20000)), np.arange(20000), seed=5)
    assert np.var(np.log(values["CL"])) == pytest.approx(0.13, rel=0.05)


# -- bad input ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"omega": {"CL": 0.0}}, r"IOV: omega\['CL'\] must be a variance > 0"),
    ({"omega": {"CL": True}}, r"IOV: omega\['CL'\] must be a variance > 0"),
    ({"omega": {"CL": 0.1}, "column": ""}, "column must be the name of a data column"),
    ({"omega": {"CL": 0.1}, "occasions": (1, 1)}, "occasions must be distinct"),
    ({"omega": {"CL": 0.1}, "occasions": (1, float("nan"))}, "finite numbers or names"),
    ({"omega": {"CL": 0.1}, "occasions": "12"}, "finite numbers or names"),
    ({"omega": {"CL": 0.1}, "occasions": ()}, "non-empty"),
])
def test_bad_iov_is_refused(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        pkpd.IOV(**kwargs)


def test_a_model_refuses_iov_it_cannot_apply():
    args = (OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.1}, pkpd.ProportionalError(0.1))
    with pytest.raises(ParameterError, match=r"iov name\(s\) \['F1'\] have no typical value"):
        pkpd.PopulationModel(*args, iov={"F1": 0.1})
    with pytest.raises(ParameterError, match="iov must be a pkpd.IOV"):
        pkpd.PopulationModel(*args, iov=0.1)
    with pytest.raises(ParameterError, match="needs a declared model"):
        pkpd.PopulationModel(OneCompartmentOral(), {"TVCL": 2.8}, {"CL": 0.1}, pkpd.ProportionalError(0.1),
                             individual=lambda th, eta: {"CL": th["TVCL"] * np.exp(eta[:, 0])}, iov={"CL": 0.1})


def test_data_without_occasions_are_refused(baseline):
    pm = _baseline_model(baseline)
    frame = _linear_data()
    with pytest.raises(DatasetError, match="column 'OCC', which the data lack"):
        pkpd.population_ofv(pm, frame.drop(columns="OCC"))
    missing = frame.assign(OCC=np.where(frame["ID"] == 2, np.nan, frame["OCC"]))
    first = int(np.flatnonzero(frame["ID"].to_numpy() == 2)[0])
    with pytest.raises(DatasetError, match=f"record {first + 1} \\(ID 2\\): no OCC value in its subject"):
        pkpd.population_ofv(pm, missing)
    # a missing value within a subject is the next record's (nocb), as a covariate's: the objective is unchanged
    gaps = frame.assign(OCC=frame["OCC"].where(frame["EVID"] == 0))
    assert pkpd.population_ofv(pm, gaps) == pytest.approx(pkpd.population_ofv(pm, frame), abs=1e-9)


def test_a_table_survives_a_variance_the_data_cannot_see(baseline):
    """Regression: data without between-subject variability put omega^2 near 0 with a huge standard error on its
    log; the back-transformed upper confidence bound overflowed ``math.exp`` and ``table()`` raised. (The S matrix,
    from the subjects' gradients, gives that standard error; the R matrix, the Hessian, is not positive definite
    this close to the boundary.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pkpd.ConvergenceWarning)
        fit = pkpd.fit_population(_baseline_model(baseline), _linear_data(n=12), progress=False, covariance="S")
    row = fit.table().loc["omega2_BASE"]
    assert row["estimate"] < 1e-3 and row["ci_upper"] > 1e3


def test_a_vpc_simulates_new_occasion_effects(baseline):
    """The VPC of a model with IOV draws every occasion's effects: its simulated 95th percentile lies above that of
    the same model with the IOV left out (variances 1.3 against 0.8 around the same typical value)."""
    frame = _linear_data(n=30)
    frame.loc[frame["EVID"] == 0, "DV"] = _baseline_model(baseline).simulate(frame, seed=4)["DV"].to_numpy()
    with_iov = pkpd.vpc(_baseline_model(baseline), frame, n_sim=50, seed=1, bins=2).table
    without = pkpd.vpc(_baseline_model(baseline, iov=False), frame, n_sim=50, seed=1, bins=2).table
    assert (with_iov["p95_sim_median"] - without["p95_sim_median"]).min() > 0.2
    assert (with_iov["p50_sim_median"] - without["p50_sim_median"]).abs().max() < 0.3


def test_the_objective_does_not_depend_on_the_path_of_the_search():
    """Regression: the EBE search extrapolated predictions from extrapolations over up to 1e-5 in eta, and
    differentiated record-by-record predictions by steps of 1e-3, so the objective at a point depended on where the
    search had been (here 1.7e-8 before, 1.9e-7 for 60 subjects: as large as the change an outer finite-difference
    step makes) and a fit stopped 0.17 above its optimum. Returning to a point after a step in any estimated
    quantity must give its objective again (measured now: 2e-10)."""
    from pkpd.estimation._parameters import Parameterisation

    truth = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 4.0, "V": 30.0, "KA": 1.2}, {"CL": 0.09, "KA": 0.16},
                                 pkpd.ProportionalError(0.1), iov=pkpd.IOV({"CL": 0.04, "KA": 0.09}))
    rows = [(i, start + t, int(t == 0), 300.0 * (t == 0), occ) for i in range(1, 41)
            for occ, start in ((1, 0.0), (2, 168.0)) for t in (0.0, 0.5, 1, 2, 4, 8, 12, 24)]
    frame = pd.DataFrame(rows, columns=["ID", "TIME", "EVID", "AMT", "OCC"])
    frame["DV"] = np.where(frame["EVID"] == 1, np.nan, 0.0)
    frame.loc[frame["EVID"] == 0, "DV"] = truth.simulate(frame, seed=8)["DV"].to_numpy()
    data = pkpd.read_nonmem(frame)
    objective = Objective(truth, PopData(truth, data, "auto"), "FOCEI")
    par = Parameterisation(truth)
    x = par.x0
    objective.multistart = True
    objective(*par.unpack(x))
    first = objective(*par.unpack(x))
    for k in range(len(x)):
        step = np.zeros_like(x)
        step[k] = 1e-3
        objective(*par.unpack(x + step))
        assert objective(*par.unpack(x)) == pytest.approx(first, abs=1e-9), par.names[k]
