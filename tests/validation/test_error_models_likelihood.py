"""Residual error models in population estimation (issue 19, item 3): log-transform-both-sides (LTBS) and the
two forms of the combined error, against likelihoods written here from first principles.

The references are computed in this file with numpy and ``scipy.stats.norm`` only -- not with pkpd's residual
error classes -- from the closed form of the one-compartment IV bolus model,
``C(t) = D / V exp(-CL / V t)``, whose derivatives in the random effects are analytic too:

- LTBS is NONMEM's ``Y = LOG(F) + EPS(1)`` on ``DV = LOG(concentration)`` (Karlsson, Beal & Sheiner 1995,
  J Pharmacokinet Biopharm 23:651): -2 log L of the logs, without the Jacobian ``sum 2 log y``;
- combined, variances add: ``W^2 = SD^2 + CV^2 F^2``; standard deviations add: ``W = SD + CV F``
  (Beal & Sheiner, NONMEM Users Guide Part VII);
- BLQ records by M3, ``-2 log Phi((LLOQ - F) / W)`` on the error's scale (Beal 2001, J Pharmacokinet
  Pharmacodyn 28:481);
- FO: ``OFV_i = log det V_i + r_i' V_i^-1 r_i``, ``V_i = Z_i Omega Z_i' + R_i``, ``r_i = y_i - f_i(0)``,
  ``Z_i = df/deta`` at ``eta = 0`` (Beal & Sheiner, NONMEM Users Guide Part VII).

All objectives are NONMEM's: -2 log L without ``n log 2 pi``.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import pkpd
from pkpd.models import OneCompartment

DOSE = 100.0
TIMES = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 12.0])
THETA = {"CL": 4.0, "V": 25.0}
NONMEM_GUIDE = "Beal & Sheiner, NONMEM Users Guide Part VII"
LTBS = "Karlsson, Beal & Sheiner 1995, J Pharmacokinet Biopharm 23:651"
M3 = "Beal 2001, J Pharmacokinet Pharmacodyn 28:481"


def events(dv: dict, lloq: float | None = None) -> pd.DataFrame:
    """NONMEM-style records: per ID one bolus of DOSE into CENTRAL at 0 and observations ``dv[ID]`` at TIMES."""
    rows = []
    for i, values in dv.items():
        rows.append({"ID": i, "TIME": 0.0, "EVID": 1, "AMT": DOSE, "CMT": 1, "DV": 0.0, "MDV": 1})
        rows += [{"ID": i, "TIME": t, "EVID": 0, "AMT": 0.0, "CMT": 1, "DV": y, "MDV": 0}
                 for t, y in zip(TIMES, values)]
    frame = pd.DataFrame(rows)
    if lloq is not None:
        frame["LLOQ"] = lloq
    return frame


def conc(cl, v, t=TIMES):
    return DOSE / v * np.exp(-cl / v * t)


def model(error, omega):
    return pkpd.PopulationModel(OneCompartment(), THETA, omega, error)


# observed concentrations of 4 subjects (the first is the one-subject case; 0.05 is below an LLOQ of 0.1)
DV = {1: [3.61, 3.02, 2.41, 1.05, 0.205, 0.05],
      2: [3.95, 3.70, 2.90, 2.21, 1.21, 0.71],
      3: [3.10, 2.70, 2.31, 1.62, 0.72, 0.38],
      4: [4.20, 3.41, 2.80, 1.70, 0.61, 0.27]}


# -- one subject, Omega -> 0: the population objective is the individual -2 log L ------------------------------
def _individual_neg2ll(kind, y, f, sd, cv=None, lloq=None):
    """-2 log L (without n log 2 pi) from first principles; BLQ records (y < lloq) by M3."""
    blq = np.zeros(len(y), dtype=bool) if lloq is None else y < lloq
    if kind == "ltbs":
        scale_y, scale_f, w = np.log(y), np.log(f), np.full(len(y), sd)
        scale_lloq = None if lloq is None else math.log(lloq)
    else:
        scale_y, scale_f, scale_lloq = y, f, lloq
        w = np.sqrt(sd**2 + (cv * f) ** 2) if kind == "variance" else sd + cv * f
    q = ~blq
    total = np.sum((scale_y[q] - scale_f[q]) ** 2 / w[q] ** 2 + np.log(w[q] ** 2))
    if blq.any():
        total += np.sum(-2.0 * norm.logcdf((scale_lloq - scale_f[blq]) / w[blq]))
    return total


CASES = {
    "ltbs": (pkpd.ExponentialError(0.25), {}),
    "variance": (pkpd.CombinedError(0.1, 0.2), {"cv": 0.2}),
    "sd": (pkpd.CombinedError(0.1, 0.2, form="sd"), {"cv": 0.2}),
}


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("method", ["FOCEI", "FO"])
def test_one_subject_with_vanishing_omega_is_the_individual_likelihood(kind, method, validation):
    """One subject, Omega = 1e-12: the EBE is 0 (to 1e-12) and ``log det Omega + log det H`` -> 0, so the FO and
    FOCE-I objectives are the individual -2 log L at the typical values; written here for LTBS (on the logs,
    no Jacobian), combined with variances adding and with standard deviations adding. Measured agreement:
    1e-11 to 7e-11 relative."""
    error, extra = CASES[kind]
    y = np.array(DV[1][:5])                   # quantified records only (FO has no M3)
    data = events({1: y})
    ofv = pkpd.population_ofv(model(error, {"CL": 1e-12}), data, method=method)
    reference = _individual_neg2ll(kind, y, conc(THETA["CL"], THETA["V"], TIMES[:5]), 0.25 if kind == "ltbs" else 0.1,
                                   **extra)
    source = LTBS if kind == "ltbs" else NONMEM_GUIDE
    validation.compare(f"{method} objective, one subject, Omega -> 0, {kind} error", ofv, reference, rtol=1e-8,
                       source=source)


@pytest.mark.parametrize("kind", list(CASES))
def test_m3_with_vanishing_omega_is_the_censored_likelihood(kind, validation):
    """The last record (0.05) lies below the LLOQ 0.1: FOCE-I with Omega -> 0 equals the individual -2 log L
    with M3's ``-2 log Phi((LLOQ - F) / W)`` for it -- on the log scale for LTBS,
    ``Phi((log LLOQ - log F) / SD)``. Measured agreement 2e-11 to 1e-10 relative."""
    error, extra = CASES[kind]
    y = np.array(DV[1])
    data = events({1: y}, lloq=0.1)
    ofv = pkpd.population_ofv(model(error, {"CL": 1e-12}), data)
    reference = _individual_neg2ll(kind, y, conc(THETA["CL"], THETA["V"]), 0.25 if kind == "ltbs" else 0.1, lloq=0.1,
                                   **extra)
    validation.compare(f"FOCE-I objective with one M3 record, Omega -> 0, {kind} error", ofv, reference, rtol=1e-8,
                       source=M3)


# -- FO population objective of four subjects, by hand -----------------------------------------------------------
OMEGA = np.array([[0.09, 0.02], [0.02, 0.04]])


def _fo_by_hand(kind, sd, cv=None):
    """FO's linearised likelihood: ``V_i = Z Omega Z' + R``, ``Z = d(prediction)/d(eta_CL, eta_V)`` at 0,
    analytically: ``d log C / d eta_CL = -CL t / V``, ``d log C / d eta_V = -1 + CL t / V``."""
    cl, v = THETA["CL"], THETA["V"]
    f = conc(cl, v)
    dlog = np.column_stack([-cl * TIMES / v, -1.0 + cl * TIMES / v])
    total = 0.0
    for values in DV.values():
        y = np.array(values)
        if kind == "ltbs":
            r, z, w = np.log(y) - np.log(f), dlog, np.full(len(y), sd)
        else:
            r, z, w = y - f, f[:, None] * dlog, sd + cv * f
        cov = z @ OMEGA @ z.T + np.diag(w**2)
        total += np.linalg.slogdet(cov)[1] + r @ np.linalg.solve(cov, r)
    return total


@pytest.mark.parametrize("kind", ["ltbs", "sd"])
def test_fo_objective_of_four_subjects_equals_the_linearised_likelihood(kind, validation):
    """Four subjects, Omega with a covariance (CL, V): pkpd's FO objective (eta-derivatives by central finite
    differences) against ``sum_i log det V_i + r_i' V_i^-1 r_i`` with analytic derivatives. Measured agreement
    1.6e-9 (LTBS) and 7e-12 (SDs add) relative."""
    error = pkpd.ExponentialError(0.25) if kind == "ltbs" else pkpd.CombinedError(0.1, 0.2, form="sd")
    omega = pd.DataFrame(OMEGA, index=["CL", "V"], columns=["CL", "V"])
    ofv = pkpd.population_ofv(model(error, omega), events(DV), method="FO")
    reference = _fo_by_hand(kind, 0.25 if kind == "ltbs" else 0.1, 0.2)
    validation.compare(f"FO objective, 4 subjects, {kind} error", ofv, reference, rtol=1e-6, source=NONMEM_GUIDE)


# -- simulation and estimation ----------------------------------------------------------------------------------
def test_ltbs_simulation_estimation_recovers_the_residual_sd(validation):
    """60 subjects simulated by ``PopulationModel.simulate`` with LTBS error (SD 0.15 on the log scale, 30 % IIV
    on CL and V, seed 20260106), then fitted by FOCE-I from initial values 30 % off: the residual SD is
    recovered within 15 % (measured 0.1548, +3.2 %), the typical values within 10 % (CL 4.13, +3.3 %; V 23.1,
    -7.7 %, two standard errors of a 30 % IIV over 60 subjects). CWRES: mean -0.04, SD 1.00."""
    truth = pkpd.PopulationModel(OneCompartment(), THETA, {"CL": 0.09, "V": 0.09}, pkpd.ExponentialError(0.15))
    design = events({i: np.ones(len(TIMES)) for i in range(1, 61)})
    sim = truth.simulate(design, seed=20260106)
    data = design.copy()
    data.loc[data["EVID"] == 0, "DV"] = sim["DV"].to_numpy()
    start = pkpd.PopulationModel(OneCompartment(), {"CL": 5.2, "V": 17.5}, {"CL": 0.2, "V": 0.2},
                                 pkpd.ExponentialError(0.3))
    fit = pkpd.fit_population(start, data, covariance=False, progress=False)
    assert fit.success, fit.message
    validation.within("residual SD (log scale), LTBS, 60 subjects", fit.error["SD"] / 0.15, 0.85, 1.15, source=LTBS)
    for k, v in THETA.items():
        assert fit.theta[k] == pytest.approx(v, rel=0.10), k
    # the diagnostics: DV, PRED and IPRED on the natural scale, residuals on the log scale
    diag = fit.diagnostics
    np.testing.assert_allclose(diag["DV"], data.loc[data["EVID"] == 0, "DV"], rtol=1e-15)
    np.testing.assert_allclose(diag["RES"], np.log(diag["DV"]) - np.log(diag["PRED"]), rtol=1e-9)
    assert abs(diag["CWRES"].mean()) < 0.1 and abs(diag["CWRES"].std() - 1.0) < 0.1


# -- bad input -----------------------------------------------------------------------------------------------------
def test_a_non_positive_observation_under_ltbs_names_the_record():
    """LTBS compares logs: a quantified observation <= 0 has no likelihood; the error names its record, ID, time
    and value (M3 would need it flagged BLQ with an LLOQ)."""
    bad = {1: DV[1], 2: [3.95, 3.70, 0.0, 2.21, 1.21, 0.71]}
    pm = model(pkpd.ExponentialError(0.2), {"CL": 0.1})
    for call in (lambda: pkpd.population_ofv(pm, events(bad)),
                 lambda: pkpd.fit_population(pm, events(bad), progress=False)):
        with pytest.raises(pkpd.DatasetError, match=r"record 11 \(ID 2, TIME 2\.0\): observation DV 0\.0 is not > 0"):
            call()


def test_a_zero_prediction_at_an_observation_under_ltbs_is_an_error_at_the_start():
    """An observation before the dose (prediction 0): likelihood 0 under LTBS. At the values given (initial
    estimates, ``population_ofv``'s or ``map_estimate``'s prior) it is an error naming the record; flagged BLQ
    it contributes 0 (M3: ``Phi(+inf) = 1``)."""
    frame = events({1: DV[1][:5]})
    early = pd.DataFrame([{"ID": 1, "TIME": 0.0, "EVID": 0, "AMT": 0.0, "CMT": 1, "DV": 0.3, "MDV": 0}])
    data = pd.concat([early, frame], ignore_index=True)          # observed before the dose at the same time
    pm = model(pkpd.ExponentialError(0.25), {"CL": 1e-12})
    with pytest.raises(pkpd.DatasetError, match=r"record 1 \(ID 1, TIME 0\.0, DV 0\.3\): the population prediction "
                                                r"is 0, not > 0"):
        pkpd.population_ofv(pm, data)
    for call in (pkpd.fit_population, pkpd.map_estimate):
        with pytest.raises(pkpd.DatasetError, match="record 1"):
            call(pm, data)
    flagged = data.assign(LLOQ=[0.5] + [np.nan] * (len(data) - 1))   # 0.3 < 0.5: BLQ, -2 log Phi(+inf) = 0
    assert pkpd.population_ofv(pm, flagged) == pytest.approx(pkpd.population_ofv(pm, frame), rel=1e-12)
