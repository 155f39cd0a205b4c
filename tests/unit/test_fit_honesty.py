"""Issue 15, "Fits that never lie": named warnings instead of a quiet ``success``, the default error model of
the API and the CLI, pre-dose samples, start values where NCA cannot apply, subjects without doses or
observations, and sparse data -- on theophylline, indometacin and a simulated multiple-dose dataset."""

import math
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.estimation import (AdditiveError, ProportionalError, default_error, fit_each, fit_individual, fit_pooled,
                          initial_estimates, make_params)
from pkpd.models import OneCompartment, OneCompartmentOral, TwoCompartment, TwoCompartmentOral

R_DIR = Path(__file__).parents[1] / "validation" / "r"
TRUTH = {"CL": 2.8, "V": 32.0, "KA": 1.5}


def _recorded(fn, *args, **kw):
    """``fn(*args, **kw)`` and the ConvergenceWarning messages it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kw)
    return out, [str(w.message) for w in caught if issubclass(w.category, pkpd.ConvergenceWarning)]


def _names(fit):
    return set(fit.warning_names)


@pytest.fixture(scope="module")
def theo():
    return pkpd.load_dataset("theophylline")


@pytest.fixture(scope="module")
def r_theoph():
    """R nlsList/SSfol per subject (tests/validation/r), as CL/F and V/F in L/h and L, KA in 1/h."""
    ref = pd.read_csv(R_DIR / "theoph_individual.csv").pivot(index="ID", columns="parameter", values="estimate")
    wt = pkpd.load_dataset("theophylline").events.groupby("ID")["WT"].first()
    return {sid: {"CL": math.exp(r.lCl) * wt[sid], "V": math.exp(r.lCl - r.lKe) * wt[sid], "KA": math.exp(r.lKa)}
            for sid, r in ref.iterrows()}


def multiple_dose_data(n=8, seed=2026, cv=0.1, steady_state=False):
    """One-compartment oral model at TRUTH, 320 mg every 12 h (ADDL 5: six doses; or one SS=1 dose), troughs
    before doses 2-6 and a profile after the last dose (or the steady-state interval), 10 % proportional
    noise with a fixed seed."""
    model = OneCompartmentOral()
    rng = np.random.default_rng(seed)
    after = np.array([0.5, 1, 2, 3, 4, 6, 8, 11.9])
    times = after if steady_state else np.r_[[11.9, 23.9, 35.9, 47.9, 59.9], 60 + after]
    dose = pkpd.Bolus(320, cmt="DEPOT", ii=12, **({"ss": 1} if steady_state else {"addl": 5}))
    cp = model.simulate(dose, times, TRUTH)["CP"]
    frames = []
    for i in range(1, n + 1):
        frames.append(pd.DataFrame({"ID": i, "TIME": [0.0], "AMT": [320.0], "CMT": [1], "II": [12.0],
                                    "ADDL": [0 if steady_state else 5], "SS": [int(steady_state)], "DV": [np.nan]}))
        frames.append(pd.DataFrame({"ID": i, "TIME": times, "AMT": 0.0, "CMT": 2, "II": 0.0, "ADDL": 0, "SS": 0,
                                    "DV": cp * (1 + cv * rng.standard_normal(len(times)))}))
    return pkpd.read_nonmem(pd.concat(frames, ignore_index=True))


# -- the default error model and the pre-dose sample ----------------------------------------------------------
def test_default_error_model_is_the_same_in_the_api_and_the_cli(theo):
    from pkpd.cli.commands import DEFAULT_ERROR_NAME, ERROR_NAMES, make_error
    from pkpd.cli.main import FIT_ERRORS, build_parser

    assert default_error() == AdditiveError()
    args = build_parser().parse_args(["fit", "theo.csv", "--model", "OneCompartmentOral"])
    assert args.error == DEFAULT_ERROR_NAME == "additive"
    assert FIT_ERRORS == ERROR_NAMES                 # the parser's choices are the errors make_error builds
    assert make_error(args.error) == default_error()
    assert fit_individual(OneCompartmentOral(), theo.subject(2)).error == AdditiveError()


def test_theophylline_subject_1_with_the_default_error_matches_r_nls(theo, r_theoph):
    """Subject 1 has a measured 0.74 mg/L at time 0, before the dose. With the default (additive) error it is
    kept, as R's nls keeps it: the OFV is an ordinary number (not ~5e23, as a proportional error gave), and
    CL/F, V/F, KA equal R's nlsList/SSfol to 1e-4 (measured: < 1e-5). Every subject alike (worst 3e-5)."""
    fits, raised = _recorded(fit_each, OneCompartmentOral(), theo)
    assert raised == []
    one = fits[1]
    assert one.success and one.n_obs == 11 and -10 < one.ofv < 100
    assert one.predictions["DV"].iloc[0] == 0.74 and one.predictions["PRED"].iloc[0] == 0.0
    for sid, fit in fits.items():
        assert fit.success and fit.messages == ()
        for k, v in r_theoph[sid].items():
            assert fit.estimates[k] == pytest.approx(v, rel=1e-4), (sid, k)


def test_proportional_error_leaves_the_predose_sample_out_and_says_so(theo):
    """With a proportional error the SD at a prediction of 0 is 0: the pre-dose record is left out of the
    likelihood (PREDOSE_EXCLUDED, success unaffected) and the fit is the fit without that record."""
    one = theo.subject(1)
    fit, raised = _recorded(fit_individual, OneCompartmentOral(), one, error=ProportionalError())
    assert fit.success and fit.warning_names == ("PREDOSE_EXCLUDED",)
    assert len(raised) == 1 and raised[0].startswith("fit of ID 1: PREDOSE_EXCLUDED: 1 observation")
    assert "TIME 0 (DV 0.74)" in raised[0] and "warning: PREDOSE_EXCLUDED" in fit.report()
    ev = one.events
    dropped = fit_individual(OneCompartmentOral(), ev[~((ev["EVID"] == 0) & (ev["TIME"] == 0))],
                             error=ProportionalError())
    assert fit.n_obs == dropped.n_obs == 10
    assert abs(fit.ofv) < 100 and fit.ofv == pytest.approx(dropped.ofv, rel=1e-9)
    for k in TRUTH:
        assert fit.estimates[k] == pytest.approx(dropped.estimates[k], rel=1e-6)
    # additive error keeps it (and the proportional fit no longer needs it to be dropped by hand)
    assert fit_individual(OneCompartmentOral(), one).n_obs == 11


# -- not success: too few observations, collapsed residual error ----------------------------------------------
def test_no_more_observations_than_parameters_is_not_success(theo):
    """Theophylline subject 1 cut to 4 samples: 4 observations for CL, V, KA and the SD -- the fit would
    interpolate them. TOO_FEW_OBSERVATIONS, success False, the SD held at its start value (1 mg/L)."""
    ev = theo.subject(1).events
    four = ev[(ev["EVID"] == 1) | ev["TIME"].isin([1.12, 3.82, 9.05, 24.37])]
    fit, raised = _recorded(fit_individual, OneCompartmentOral(), four)
    assert not fit.success and fit.n_obs == 4 and "TOO_FEW_OBSERVATIONS" in _names(fit)
    assert any(m.startswith("fit of ID 1: TOO_FEW_OBSERVATIONS: 4 observations for 4 estimated parameters "
                            "(CL, V, KA, err_SD): at least 5") for m in raised)
    assert fit.error.fixed and fit.error_estimates == {"SD": 1.0}
    assert "success: False (TOO_FEW_OBSERVATIONS" in fit.report()
    # indometacin (IV): 2 samples for CL and V with the CV fixed -- still no degrees of freedom left
    ev = pkpd.load_dataset("indometacin").subject(1).events
    two = ev[(ev["EVID"] == 1) | ev["TIME"].isin([0.5, 4.0])]
    fit, _ = _recorded(fit_individual, OneCompartment(), two, error=ProportionalError(0.1, fixed=True))
    assert not fit.success and fit.warning_names[0] == "TOO_FEW_OBSERVATIONS"


def test_residual_error_collapsing_to_zero_is_not_success(theo, r_theoph):
    """Noise-free data on subject 1's design (the model at R's estimates): the residual SD goes to 0 and the
    likelihood has no maximum -- RESIDUAL_ERROR_COLLAPSED, success False -- although the estimates are right."""
    ev = theo.subject(1).events
    obs = ev["EVID"] == 0
    ev.loc[obs, "DV"] = OneCompartmentOral().simulate(pkpd.Bolus(float(ev["AMT"].iloc[0]), cmt="DEPOT"),
                                                      ev.loc[obs, "TIME"].to_numpy(), r_theoph[1])["CP"]
    for error in (AdditiveError(), ProportionalError()):
        # started at the truth: the likelihood is unbounded (SD -> 0), and where an optimiser started far off
        # stops on the way there depends on rounding; from the truth every path leads to the collapse
        fit, raised = _recorded(fit_individual, OneCompartmentOral(), ev, error=error, init=r_theoph[1])
        assert not fit.success and "RESIDUAL_ERROR_COLLAPSED" in _names(fit), error
        assert any(": RESIDUAL_ERROR_COLLAPSED: the residual error shrank to nothing" in m for m in raised)
        for k, v in r_theoph[1].items():
            assert fit.estimates[k] == pytest.approx(v, rel=1e-4)


# -- POORLY_IDENTIFIED -------------------------------------------------------------------------------------
def test_poorly_identified_parameters_are_named_in_individual_fits(theo):
    """RSE > 100 % or |r| > 0.99: a named warning; the fit converged, so success stays True.

    - indometacin subject 4, two compartments: RSE of V2 105 % (the table's rse_percent);
    - theophylline subject 6 without its first 3 h (no absorption phase left): RSE of KA ~2000 %, CL, V and
      KA correlated with |r| > 0.99."""
    fits, _ = _recorded(fit_each, TwoCompartment(), pkpd.load_dataset("indometacin"))
    four = fits[4]
    assert four.success and four.warning_names == ("POORLY_IDENTIFIED",)
    assert four.table().loc["V2", "rse_percent"] > 100
    assert "RSE of V2 105 % (> 100 %)" in four.messages[0]
    assert all(not f.messages for sid, f in fits.items() if sid != 4)

    ev = theo.subject(6).events
    late = ev[(ev["EVID"] == 1) | (ev["TIME"] > 3)]
    fit, raised = _recorded(fit_individual, OneCompartmentOral(), late)
    assert fit.success and fit.warning_names == ("POORLY_IDENTIFIED",)
    assert any(m.startswith("fit of ID 6: POORLY_IDENTIFIED: RSE of KA") for m in raised)
    corr = fit.correlation.to_numpy()
    assert np.max(np.abs(corr - np.eye(3))) > 0.99 and "(|r| > 0.99)" in fit.messages[0]
    # the full profile identifies everything: no warning (all 12 theophylline subjects: previous test)


def test_fit_each_on_two_compartments_oral_theophylline_names_every_subject(theo):
    """TwoCompartmentOral is too rich for 11 samples: every subject is COVARIANCE_FAILED (success False) or
    POORLY_IDENTIFIED (subject 10: RSE of Q ~400 %), none a quiet success."""
    fits, _ = _recorded(fit_each, TwoCompartmentOral(), theo)
    for sid, fit in fits.items():
        assert _names(fit) & {"COVARIANCE_FAILED", "POORLY_IDENTIFIED"}, sid
        assert fit.success == ("COVARIANCE_FAILED" not in _names(fit))
    assert "RSE of Q" in fits[10].messages[0]


# -- start values where NCA cannot apply --------------------------------------------------------------------
@pytest.mark.parametrize("steady_state", [False, True])
def test_start_values_for_multiple_doses_and_steady_state_converge(steady_state):
    """NCA refuses ADDL / SS doses; initial_estimates falls back to the grid search (within a factor 1.5 of
    the truth), and the fits started there (the default) reach the same optimum as fits started at the truth
    (1e-4); the naive pooled fit of the 8 subjects recovers CL within 3 % of the truth, V and KA within 2.5
    standard errors (and 25 %; measured: CL -0.2 %, V +0.3 %, KA +2.2 % with ADDL; CL -0.8 %, V -3.1 %,
    KA +15 % = 1.4 SE at steady state, whose first sample is at 0.5 h)."""
    data = multiple_dose_data(steady_state=steady_state)
    model = OneCompartmentOral()
    with pytest.raises(pkpd.DatasetError, match="repeated or steady-state dose"):
        initial_estimates(model, data, method="nca")
    start = initial_estimates(model, data)
    assert start == initial_estimates(model, data, method="grid")
    for k, v in TRUTH.items():
        assert 1 / 1.5 < start[k] / v < 1.5, (k, start[k])
    fits, raised = _recorded(fit_each, model, data, error=ProportionalError())
    assert raised == []
    at_truth = make_params(model, TRUTH, estimate=tuple(TRUTH))
    for sid, fit in fits.items():
        ref = fit_individual(model, data.subject(sid), at_truth, error=ProportionalError())
        assert fit.success and ref.success
        for k in TRUTH:
            assert fit.estimates[k] == pytest.approx(ref.estimates[k], rel=1e-4), (sid, k)
        assert not fit.params["F1"].vary and not fit.params["ALAG1"].vary      # only CL, V, KA estimated
    pooled = fit_pooled(model, data, error=ProportionalError())
    assert pooled.success
    assert pooled.estimates["CL"] == pytest.approx(TRUTH["CL"], rel=0.03)
    for k in ("V", "KA"):           # RSE 5 % (V) and 11 % (KA) with 8 samples: within 2.5 standard errors
        assert abs(pooled.estimates[k] - TRUTH[k]) < 2.5 * pooled.params[k].stderr, (k, pooled.estimates[k])
        assert pooled.estimates[k] == pytest.approx(TRUTH[k], rel=0.25)
    assert pooled.error_estimates["CV"] == pytest.approx(0.1, rel=0.2)


def test_grid_start_values_converge_on_theophylline_and_indometacin(theo, r_theoph):
    """The fallback, forced (method="grid"), on the datasets where NCA works: theophylline fits from it equal
    R's nlsList estimates (1e-4) for every subject; indometacin one- and two-compartment fits from it equal
    those from the NCA start values (OFV to 1e-6, estimates to 1e-3)."""
    model = OneCompartmentOral()
    for sid, sub in theo:
        start = initial_estimates(model, sub, method="grid")
        fit = fit_individual(model, sub, make_params(model, start, estimate=tuple(start)))
        assert fit.success
        for k, v in r_theoph[sid].items():
            assert fit.estimates[k] == pytest.approx(v, rel=1e-4), (sid, k)
    for model in (OneCompartment(), TwoCompartment()):
        for sid, sub in pkpd.load_dataset("indometacin"):
            fits = {}
            for method in ("nca", "grid"):
                start = initial_estimates(model, sub, method=method)
                fits[method] = fit_individual(model, sub, make_params(model, start, log=tuple(start)))
            assert fits["grid"].ofv == pytest.approx(fits["nca"].ofv, abs=1e-6), (model.name, sid)
            for k in fits["nca"].estimates:
                assert fits["grid"].estimates[k] == pytest.approx(fits["nca"].estimates[k], rel=1e-3)


def test_init_gives_some_start_values_and_checks_them(theo, r_theoph):
    one = theo.subject(1)
    fit = fit_individual(OneCompartmentOral(), one, init={"CL": 2, "V": 30})
    assert fit.success and fit.estimates["CL"] == pytest.approx(r_theoph[1]["CL"], rel=1e-4)
    assert [n for n, p in fit.params.items() if p.vary] == ["CL", "V", "KA"]
    fit = fit_individual(OneCompartmentOral(), one, init={"CL": 2, "ALAG1": 0.1})    # named: estimated too
    assert fit.params["ALAG1"].vary and not fit.params["F1"].vary
    with pytest.raises(pkpd.ParameterError, match="'CLX' is not a parameter of OneCompartmentOral"):
        fit_individual(OneCompartmentOral(), one, init={"CLX": 2})
    with pytest.raises(pkpd.ParameterError, match="outside its bounds"):
        fit_individual(OneCompartmentOral(), one, init={"F1": 2})
    with pytest.raises(pkpd.ParameterError, match="either params"):
        fit_individual(OneCompartmentOral(), one, {"CL": 2.0}, init={"CL": 2})


# -- subjects without doses or observations ----------------------------------------------------------------
def test_subjects_without_doses_or_observations_are_skipped_by_id(theo):
    ev = theo.events
    ev = ev[~((ev["ID"] == 3) & (ev["EVID"] == 1)) & ~((ev["ID"] == 5) & (ev["EVID"] == 0))]
    fits, raised = _recorded(fit_each, OneCompartmentOral(), ev)
    assert sorted(fits) == [1, 2, 4, 6, 7, 8, 9, 10, 11, 12] and all(f.success for f in fits.values())
    assert raised == ["fit_each: SUBJECTS_SKIPPED: 2 subjects skipped, IDs 3 (no dose records); 5 (no observations): "
                      "a subject needs a dose record (EVID 1 or 4) and an observation (EVID 0, MDV 0) to be fitted"]
    pooled, _ = _recorded(fit_pooled, OneCompartmentOral(), ev)
    assert pooled.success and pooled.warning_names == ("SUBJECTS_SKIPPED",) and pooled.n_obs == 10 * 11
    with pytest.raises(pkpd.DatasetError, match="subject 3 has no dose records"):
        fit_individual(OneCompartmentOral(), ev[ev["ID"] == 3])
    with pytest.raises(pkpd.DatasetError, match="subject 5 has no observations"):
        fit_individual(OneCompartmentOral(), ev[ev["ID"] == 5])


# -- sparse data: reported per subject, fast -----------------------------------------------------------------
def test_fit_each_on_sparse_data_reports_each_subject_quickly():
    """50 subjects with 2 samples each (1 and 8 h): every fit is TOO_FEW_OBSERVATIONS (success False, the
    reason in messages), none is dropped, and the whole fit_each takes seconds. Before issue 15 the same call
    took 136 s with the (then proportional) default -- subject 24 alone 19.8 s and 6027 objective evaluations --
    and raised MINPACK's TypeError with additive error; measured after: 5-8 s for the 50 subjects, at most 14
    evaluations per subject."""
    rng = np.random.default_rng(3)
    frames = []
    for i in range(1, 51):                                       # IIV 30 % on CL and V, 10 % proportional error
        p = {**TRUTH, "CL": TRUTH["CL"] * math.exp(0.3 * rng.standard_normal()),
             "V": TRUTH["V"] * math.exp(0.3 * rng.standard_normal())}
        cp = OneCompartmentOral().simulate(pkpd.Bolus(320, cmt="DEPOT"), [1.0, 8.0], p)["CP"]
        frames.append(pd.DataFrame({"ID": i, "TIME": [0.0, 1.0, 8.0], "AMT": [320.0, 0, 0], "CMT": [1, 2, 2],
                                    "DV": np.r_[np.nan, cp * (1 + 0.1 * rng.standard_normal(2))]}))
    data = pkpd.read_nonmem(pd.concat(frames, ignore_index=True))
    for error in (AdditiveError(), ProportionalError()):
        started = time.perf_counter()
        fits, raised = _recorded(fit_each, OneCompartmentOral(), data, error=error)
        elapsed = time.perf_counter() - started
        assert sorted(fits) == list(range(1, 51))
        for sid, fit in fits.items():
            assert not fit.success and fit.warning_names[0] == "TOO_FEW_OBSERVATIONS", sid
            assert fit.messages[0].startswith("TOO_FEW_OBSERVATIONS: 2 observations for 4 estimated parameters")
            assert fit.lmfit_result.nfev <= 200 * (3 + 1)
        assert sum("TOO_FEW_OBSERVATIONS" in m for m in raised) == 50
        assert elapsed < 60, elapsed          # ~0.2 s a subject; minutes a subject would fail this by far
