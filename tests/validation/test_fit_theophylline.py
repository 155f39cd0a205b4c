"""Theophylline fits against R's nls with SSfol (Pinheiro & Bates 2000, ch. 8; issue 5 criteria 1-2).

R: ``nls(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), Theoph)`` -- one-compartment first-order absorption on
log parameters, additive error, Dose in mg/kg. pkpd: ``OneCompartmentOral`` with ``CL = exp(lCl)``,
``KA = exp(lKa)`` and ``V = exp(lCl - lKe)`` as lmfit expressions, doses ``AMT = DOSE_MGKG``."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pkpd.estimation import AdditiveError, fit_each, fit_pooled, make_params
from pkpd.models import OneCompartmentOral


def ssfol_params(lke=-2.5, lka=0.5, lcl=-3.0):
    model = OneCompartmentOral()
    params = make_params(model, {"CL": np.exp(lcl), "KA": np.exp(lka), "V": np.exp(lcl - lke)},
                         log=("CL", "KA"), fixed=("F1", "ALAG1"))
    params.add("lKe", value=lke)
    params["V"].set(expr="exp(log_CL - lKe)")
    return model, params


@pytest.fixture(scope="module")
def pooled(theoph_mgkg):
    model, params = ssfol_params()
    return fit_pooled(model, theoph_mgkg, params, error=AdditiveError())


def test_naive_pooled_theophylline_matches_r_nls(pooled, validation):
    """R nls/SSfol (R 4.2.2, nlme 3.1-162 [S]): lKe -2.5242, lKa 0.3992, lCl -3.2483 (±0.002), standard errors
    0.1103, 0.1175, 0.0744 (±3 %)."""
    p = pooled.params
    assert pooled.success
    src = "R nls/SSfol, R 4.2.2 [S]"
    validation.compare("pooled lKe", p["lKe"].value, -2.5242, atol=0.002, source=src)
    validation.compare("pooled lKa", p["log_KA"].value, 0.3992, atol=0.002, source=src)
    validation.compare("pooled lCl", p["log_CL"].value, -3.2483, atol=0.002, source=src)
    validation.compare("pooled SE(lKe)", p["lKe"].stderr, 0.1103, rtol=0.03, source=src)
    validation.compare("pooled SE(lKa)", p["log_KA"].stderr, 0.1175, rtol=0.03, source=src)
    validation.compare("pooled SE(lCl)", p["log_CL"].stderr, 0.0744, rtol=0.03, source=src)


def test_pooled_fit_bookkeeping(pooled):
    """132 observations; residual SD (ML) = sqrt(RSS / n); OFV = n (log(2 pi RSS / n) + 1)."""
    pred = pooled.predictions
    assert pooled.n_obs == 132 and len(pred) == 132 and pooled.n_estimated == 4
    rss = float(np.sum(pred["RES"] ** 2))
    assert pooled.error_estimates["SD"] == pytest.approx(np.sqrt(rss / 132), rel=1e-12)
    assert pooled.ofv == pytest.approx(132 * (np.log(2 * np.pi * rss / 132) + 1), rel=1e-10)
    assert pooled.aic == pytest.approx(pooled.ofv + 8)
    assert "lKe" in pooled.report() and pooled.correlation.shape == (3, 3)


R_DIR = Path(__file__).parent / "r"


def test_each_subject_matches_r_nlslist(theoph_mgkg, validation):
    """Criterion 2: every subject fitted alone (fit_each, the SSfol parameterisation) matches R's
    ``nlsList(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), Theoph)`` estimates to 1e-3 and standard errors
    to 1 % (fixtures from tests/validation/r/theoph_nls.R; R and nlme versions in R_VERSION.txt)."""
    ref = pd.read_csv(R_DIR / "theoph_individual.csv")
    assert ref["converged"].all()
    model, params = ssfol_params()
    fits = fit_each(model, theoph_mgkg, params, error=AdditiveError())
    assert sorted(fits) == sorted(ref["ID"].unique())
    names = {"lKe": "lKe", "lKa": "log_KA", "lCl": "log_CL"}
    src = "R nlsList/SSfol, tests/validation/r/theoph_individual.csv"
    for parameter, rows in ref.groupby("parameter", sort=False):
        est, se = [], []
        for row in rows.itertuples():
            fit = fits[row.ID]
            assert fit.success, (row.ID, fit.messages)
            p = fit.params[names[parameter]]
            est.append(p.value)
            se.append(p.stderr)
        validation.compare(f"{parameter} of each subject", est, rows["estimate"].to_numpy(), atol=1e-3, source=src)
        validation.compare(f"SE({parameter}) of each subject", se, rows["std_error"].to_numpy(), rtol=0.01, source=src)


def test_pooled_fitted_values_match_r_row_by_row(pooled, validation):
    """The pooled fit's fitted values equal R's ``fitted(nls(...))`` row by row (tests/validation/r)."""
    ref = pd.read_csv(R_DIR / "theoph_pooled_fit.csv")
    pred = pooled.predictions
    np.testing.assert_allclose(pred["TIME"], ref["Time"], rtol=0, atol=1e-12)
    validation.compare("fitted concentrations (mg/L)", pred["PRED"].to_numpy(), ref["fitted"].to_numpy(), rtol=1e-4,
                       atol=1e-6,
                       source="R fitted(nls), tests/validation/r/theoph_pooled_fit.csv")
