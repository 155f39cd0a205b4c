"""PopulationModel: declaration, covariate effects, random-effect scales, Omega blocks, simulation, bad input,
and saving/loading a population fit."""

import math

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.models import OneCompartment, OneCompartmentOral
from pkpd.estimation._parameters import Parameterisation

COV = pd.DataFrame({"WT": [35.0, 70.0, 140.0], "AGE": [20.0, 40.0, 80.0], "SEX": ["F", "M", "F"],
                    "CYP2C19": ["*1/*1", "*1/*2", "*2/*2"]})


def test_declared_parameters_with_covariates_and_scales():
    """CL = 3 (WT/70)^0.75 exp(-0.01 (AGE-40)) * ratio(genotype) * exp(eta); F1 = expit(logit(0.6) + eta);
    V additive normal."""
    pm = pkpd.PopulationModel(
        OneCompartmentOral(), {"CL": 3.0, "V": 30.0, "KA": 1.2, "F1": 0.6}, {"CL": 0.09, "F1": 0.5, "V": 4.0},
        pkpd.AdditiveError(0.5),
        [pkpd.power("CL", "WT", reference=70, exponent=0.75), pkpd.exponential("CL", "AGE", reference=40,
                                                                                coefficient=-0.01),
         pkpd.categorical("CL", "CYP2C19", {"IM": 0.8, "PM": 0.5}, gene="CYP2C19"),
         pkpd.categorical("V", "SEX", {"F": 0.9}, reference="M")],
        transforms={"F1": "logit", "V": "identity"})
    eta = np.array([[0.1, 0.2, 1.0], [0.0, 0.0, 0.0], [-0.1, -0.3, -2.0]])
    p = pm.parameters_for(pm.theta_values, eta, COV)
    cl = 3.0 * (COV["WT"] / 70) ** 0.75 * np.exp(-0.01 * (COV["AGE"] - 40)) * np.array([1.0, 0.8, 0.5])
    np.testing.assert_allclose(p["CL"], cl * np.exp(eta[:, 0]), rtol=1e-14)
    logit06 = math.log(0.6 / 0.4)
    np.testing.assert_allclose(p["F1"], 1 / (1 + np.exp(-(logit06 + eta[:, 1]))), rtol=1e-14)
    np.testing.assert_allclose(p["V"], 30.0 * np.array([0.9, 1.0, 0.9]) + eta[:, 2], rtol=1e-14)
    np.testing.assert_allclose(p["KA"], 1.2)
    assert pm.estimated == ("CL", "V", "KA", "F1", "CL_WT", "CL_AGE", "CL_CYP2C19_IM", "CL_CYP2C19_PM", "V_SEX_F")
    assert [pm.transform_of(n) for n in ("CL", "F1", "V", "CL_WT", "CL_CYP2C19_PM")] == \
        ["log", "logit", "identity", "identity", "log"]


def test_block_omega_parameterisation_round_trips():
    names = ["CL", "V", "KA"]
    omega = pd.DataFrame([[0.09, 0.03, 0.0], [0.03, 0.04, 0.0], [0.0, 0.0, 0.25]], index=names, columns=names)
    pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 3.0, "V": 30.0, "KA": 1.2}, omega,
                              pkpd.CombinedError(0.1, 0.1))
    par = Parameterisation(pm)
    assert par.blocks == [[0, 1], [2]]
    assert par.names == ["log_CL", "log_V", "log_KA", "log_chol_CL", "chol_V_CL", "log_chol_V", "log_omega2_KA",
                         "log_SD", "log_CV"]
    theta, om, sigma = par.unpack(par.x0)
    np.testing.assert_allclose(om, omega.to_numpy(), atol=1e-15)
    assert theta == pytest.approx({"CL": 3.0, "V": 30.0, "KA": 1.2}) and sigma == pytest.approx({"SD": 0.1, "CV": 0.1})
    assert par.reported_names() == ["CL", "V", "KA", "omega2_CL", "omega_V_CL", "omega2_V", "omega2_KA",
                                    "sigma_SD", "sigma_CV"]
    np.testing.assert_allclose(par.reported(par.x0), [3, 30, 1.2, 0.09, 0.03, 0.04, 0.25, 0.1, 0.1], rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(theta={"CL": 3.0, "VV": 30.0}), r"theta names \['VV'\] are not parameters"),
    (dict(omega={"KA": 0.1}), r"omega name\(s\) \['KA'\] have no typical value"),
    (dict(omega={"CL": -0.1}), r"omega\['CL'\] must be a variance > 0"),
    (dict(omega=pd.DataFrame([[0.1, 0.2], [0.2, 0.1]], index=["CL", "V"], columns=["CL", "V"])),
     "positive definite"),
    (dict(omega=pd.DataFrame([[0.1, 0.0], [0.01, 0.1]], index=["CL", "V"], columns=["CL", "V"])), "symmetric"),
    (dict(theta={"CL": -3.0, "V": 30.0}), r"theta\['CL'\] = -3.0 must be > 0"),
    (dict(error="additive"), "error must be a ResidualError, not str"),
    (dict(covariates=[pkpd.power("KA", "WT", reference=70)]), r"covariate effects name\(s\) \['KA'\]"),
    (dict(fixed=("Q",)), r"fixed names \['Q'\]"),
    (dict(transforms={"CL": "sqrt"}), "transforms must be among"),
])
def test_bad_declarations_raise_naming_the_item(kwargs, match):
    base = dict(model=OneCompartment(), theta={"CL": 3.0, "V": 30.0}, omega={"CL": 0.1},
                error=pkpd.AdditiveError(0.5))
    with pytest.raises(pkpd.ParameterError, match=match):
        pkpd.PopulationModel(**{**base, **kwargs})


@pytest.mark.parametrize("effect, frame, match", [
    (pkpd.power("CL", "WT", reference=70), pd.DataFrame({"WT": [70.0, -1.0]}), r"row 1 holds -1.0.*positive"),
    (pkpd.power("CL", "WT", reference=70), pd.DataFrame({"AGE": [1.0]}), r"no column 'WT'"),
    (pkpd.categorical("CL", "SEX", {"F": 0.9}, reference="M"), pd.DataFrame({"SEX": ["M", "X"]}),
     r"row 1 holds level 'X'"),
    (pkpd.categorical("CL", "CYP2C19", {"PM": 0.5}, gene="CYP2C19"), pd.DataFrame({"CYP2C19": ["*1/*99"]}),
     "CYP2C19"),
])
def test_bad_covariate_data_raise_dataset_errors(effect, frame, match):
    with pytest.raises(pkpd.DatasetError, match=match):
        effect.multiplier(effect.initial, frame)


def test_bad_covariate_effects_raise():
    with pytest.raises(pkpd.ParameterError, match="reference must be > 0"):
        pkpd.power("CL", "WT", reference=0)
    with pytest.raises(pkpd.ParameterError, match="ratio of level 'PM' must be > 0"):
        pkpd.categorical("CL", "CYP2C19", {"PM": 0.0})
    with pytest.raises(pkpd.ParameterError, match="reference level 'NM' has ratio 1"):
        pkpd.categorical("CL", "CYP2C19", {"NM": 1.0, "PM": 0.5})


def test_time_varying_covariate_drives_parameters_record_by_record():
    """A weight that changes within a subject: with Omega -> 0, the objective of subject 1 equals its -2LL
    with CL = 2.8 (WT/70) evaluated at every record and carried backward (NOCB, NONMEM's default) -- computed
    independently with pkpd.simulate(record_params=...); LOCF gives a different, equally checked value."""
    ev = pkpd.load_dataset("theophylline").subject(1).events.copy()
    late = ev["TIME"].to_numpy() >= 5.0
    ev.loc[late, "WT"] = 120.0
    data = pkpd.read_nonmem(ev)
    obs = data.is_observation
    y = ev["DV"].to_numpy()[obs]
    err = pkpd.AdditiveError(0.7)
    for carry in ("nocb", "locf"):
        pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 1e-12},
                                  err, [pkpd.power("CL", "WT", reference=70, exponent=1, fixed=True)], carry=carry)
        cl = 2.8 * ev["WT"].to_numpy() / 70
        pred = pkpd.simulate(OneCompartmentOral(), data, {"CL": 2.8, "V": 32.0, "KA": 1.5},
                             record_params={"CL": cl}, carry=carry, rtol=1e-10, atol=1e-12)["CP"][obs]
        expected = np.sum(err.neg2ll(y, pred, {"SD": 0.7})) - len(y) * math.log(2 * math.pi)
        assert pkpd.population_ofv(pm, data) == pytest.approx(expected, abs=1e-5), carry
    constant = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 1e-12}, err,
                                    [pkpd.power("CL", "WT", reference=70, exponent=1, fixed=True)])
    assert pkpd.population_ofv(constant, data) != pytest.approx(
        pkpd.population_ofv(constant, pkpd.load_dataset("theophylline").subject(1)), abs=1e-2)


def test_simulate_is_reproducible_and_draws_from_omega():
    pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1, "V": 0.04},
                              pkpd.ProportionalError(0.1))
    data = pkpd.load_dataset("indometacin")
    a, b = pm.simulate(data, 50, seed=4), pm.simulate(data, 50, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(pm.simulate(data, 50, seed=5))
    # log(IPRED / PRED) at t = 0.25 h is -eta_V - k t (exp(eta_CL - eta_V) - 1) ~ -(1 - k t) eta_V - k t eta_CL
    # (k = CL/V = 2/3 h^-1): SD sqrt((5/6)^2 0.04 + (1/6)^2 0.1) = 0.175 over the 300 simulated subjects
    first = a[a["TIME"] == 0.25]
    kt = 8.0 / 12.0 * 0.25
    expected = math.sqrt((1 - kt) ** 2 * 0.04 + kt**2 * 0.1)
    assert np.std(np.log(first["IPRED"] / first["PRED"])) == pytest.approx(expected, rel=0.1)
    no_error = pm.simulate(data, 2, seed=4, residual=False)
    np.testing.assert_array_equal(no_error["DV"], no_error["IPRED"])


def test_simulate_with_exponential_error_draws_log_normal_observations():
    """LTBS (``Y = LOG(F) + EPS``): DV = IPRED exp(SD EPS), so log(DV / IPRED) ~ N(0, SD^2) -- measured SD 0.1978,
    mean -0.0017 over 3300 draws -- and DV stays > 0."""
    pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1}, pkpd.ExponentialError(0.2))
    sim = pm.simulate(pkpd.load_dataset("indometacin"), 50, seed=4)
    log_ratio = np.log(sim["DV"] / sim["IPRED"])
    assert (sim["DV"] > 0).all() and abs(log_ratio.mean()) < 0.01
    assert log_ratio.std() == pytest.approx(0.2, rel=0.03)


def test_error_models_of_a_population_model_round_trip_through_a_spec():
    """The SD form of the combined error and the exponential error are stored and read back; a stored combined
    error without a form (files written before it existed) is the variance form."""
    from pkpd.population.spec import popmodel_from_spec, popmodel_to_spec

    for error in (pkpd.CombinedError(0.1, 0.2, form="sd"), pkpd.ExponentialError(0.3, fixed=True),
                  pkpd.ExponentialError(0.3, zero_prediction=0.025), {"CP": pkpd.CombinedError(0.1, 0.2, form="sd")}):
        pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1}, error)
        assert popmodel_from_spec(popmodel_to_spec(pm), "fit.json").error == pm.error
    pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1}, pkpd.CombinedError(0.1, 0.2))
    spec = popmodel_to_spec(pm)
    assert "form" not in spec["error"]
    assert popmodel_from_spec(spec, "fit.json").error.form == "variance"
    with pytest.raises(pkpd.DatasetError, match=r"error.form must be one of"):
        popmodel_from_spec({**spec, "error": {**spec["error"], "form": "sum"}}, "fit.json")


def test_fit_saves_and_loads(tmp_path):
    pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.05, "KA": 0.4},
                              pkpd.AdditiveError(0.7),
                              [pkpd.power(p, "WT", reference=70, exponent=1, fixed=True) for p in ("CL", "V")])
    fit = pkpd.fit_population(pm, pkpd.load_dataset("theophylline"), covariance="R", progress=False)
    path = fit.save(tmp_path / "theo.json")
    back = pkpd.load_population_fit(path)
    pd.testing.assert_frame_equal(back.table(), fit.table())
    pd.testing.assert_frame_equal(back.etas, fit.etas)
    pd.testing.assert_frame_equal(back.diagnostics, fit.diagnostics)
    assert back.ofv == fit.ofv and back.theta == fit.theta and back.warnings == fit.warnings
    assert back.final_model.theta_values == pytest.approx(fit.final_model.theta_values)
    with pytest.raises(pkpd.DatasetError, match="not a pkpd population fit"):
        (tmp_path / "bad.json").write_text('{"format": "other"}')
        pkpd.load_population_fit(tmp_path / "bad.json")


def test_map_estimate_accepts_a_fit_and_checks_its_argument():
    pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1}, pkpd.ProportionalError(0.1))
    with pytest.raises(pkpd.ParameterError, match="needs a PopulationModel or a population fit"):
        pkpd.map_estimate({"CL": 1}, pkpd.load_dataset("indometacin"))
    est = pkpd.map_estimate(pm, pkpd.load_dataset("indometacin"))
    assert list(est["ID"]) == [1, 2, 3, 4, 5, 6] and (est["SE_ETA_CL"] > 0).all()


def test_covariates_missing_on_dose_records_are_filled_within_the_subject():
    """NONMEM-style data often leave covariates empty on dose records: they are filled from the subject's
    other records (in the direction of ``carry``), not read as missing."""
    df = pd.DataFrame({"ID": [1, 1, 1, 2, 2, 2], "TIME": [0, 1, 4, 0, 1, 4], "AMT": [100, 0, 0, 100, 0, 0],
                       "DV": [np.nan, 5, 2, np.nan, 6, 3], "WT": [np.nan, 70, 70, np.nan, 140, 140]})
    pm = pkpd.PopulationModel(OneCompartment(), {"CL": 5.0, "V": 15.0}, {"CL": 0.1}, pkpd.ProportionalError(0.2),
                              [pkpd.power("CL", "WT", reference=70, exponent=1, fixed=True)])
    sim = pm.simulate(pkpd.read_nonmem(df), 1, seed=1, residual=False)
    # PRED at 4 h: 100/15 exp(-CL/15 * 4) with CL 5 (70 kg) and 10 (140 kg)
    np.testing.assert_allclose(sim.loc[sim["TIME"] == 4, "PRED"], 100 / 15 * np.exp(-np.array([5, 10]) / 15 * 4),
                               rtol=1e-10)
