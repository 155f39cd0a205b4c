"""The compiled engine (``pkpd/engine/_codegen.py``, ``_kernel.py``, ``_compiled.py``; issue 17, item 2).

(1) The generated source computes exactly what each library model's and a model-language model's numpy ``rhs`` computes
(run as plain Python, no numba), and nothing but whitelisted expressions can reach it (traced models:
tests/unit/test_trace.py). (2) Compiled with numba, the engine takes the same steps as the numpy engine
(``solver="dp5"``): the two agree to 1e-9 relative on every dosing pattern of the event suite -- bolus, infusion, ADDL,
SS=1/2, SS infusions, resets, lag and bioavailability -- and with parameters changing at records; a library model
matches its closed form. DOP853 (``solver="dop853"``, the estimation's compiled method) matches the closed form to 2e-9
on every dosing pattern, in a fifth of Dormand-Prince's steps. (3) Fits on the compiled engine (``engine="compiled"``)
have the numpy engine's FO and FOCE-I objectives. (4) Without numba ``solver="compiled"`` says why and ``"auto"`` keeps
the numpy engine (the numpy path is what every other test runs).

numba is a core dependency: (2) runs wherever the package installs with it. The module's tests run on one xdist
worker (conftest.py), so its two kernels compile once (seconds, once per machine: the kernel cache keeps them).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.engine import _compiled
from pkpd.engine._codegen import kernel_source
from pkpd.engine.simulation import LONG_REGIMEN, _options, most_doses, simulate
from pkpd.models import Equations, OneCompartmentOral, from_text, pk
from pkpd.population import PopulationModel, population_ofv, synthetic

# tests/unit is on sys.path
from test_exact_engine import CASES, MODELS, _dataset, _population, _rel, _schedules, _varying
from test_trace import _Branching                       # a right-hand side that cannot be traced

LIBRARY = [getattr(pk, name) for name in pk.__all__
           if isinstance(getattr(pk, name), type) and issubclass(getattr(pk, name), pkpd.models.Model)]

#: every function and operator of the language, in a model whose states stay positive and whose DEPOT and CENTRAL
#: are OneCompartmentOral's (GATE is 1)
FUNCTIONS_MODEL = """
[PARAM] CL = 5 L/h; V = 40 L; KA = 1.2 1/h; KE0 = 0.7 1/h; EMAX = 2; EC50 = 0.4 mg/L; BASE = 3 [0, 10]
        F1 = 0.8; ALAG1 = 0.25 h
[CMT] DEPOT; CENTRAL; CE; RESP
[INIT] RESP = BASE
[MAIN] CP = CENTRAL / V
       E = EMAX * pow(abs(CE), 1.5) / (EC50 ** 1.5 + pow(abs(CE), 1.5))
       GATE = where(CP >= 0, 1, 0.5) + min(CE, 1, 2) * 0 + max(CE, 0) * 0 * t
[ODE]  dDEPOT = -KA * DEPOT
       dCENTRAL = KA * DEPOT - CL * CP * GATE
       dCE = KE0 * (CP - CE)
       dRESP = 0.1 * (BASE * exp(-E) - RESP) + 0 * sqrt(abs(CP)) * log(1 + CP)
[OUTPUT] CP; CE; RESP
"""


def _python_rhs(eq):
    """The generated ``derive`` and ``rhs`` run as plain Python (numba's decorator removed), as the kernel calls
    them: the parameters extended by the derived values, derived once, then ``rhs``."""
    namespace = {"math": math}
    source = "\n".join(line for line in kernel_source(eq).splitlines() if not line.startswith("@njit("))
    exec(source, namespace)  # noqa: S102

    def rhs(t, y, p, rate, dy):
        extended = np.concatenate([p, np.full(namespace["N_DERIVED"], np.nan)])
        namespace["derive"](extended)
        namespace["rhs"](t, y, extended, rate, dy)

    return rhs


def _compare_rhs(model, params, rng, n=7):
    S = len(model.states)
    p = {name: value * np.exp(0.3 * rng.standard_normal(n)) for name, value in params.items()}
    y, rate, t = rng.uniform(0.0, 100.0, (n, S)), rng.uniform(0.0, 5.0, (n, S)), rng.uniform(0.0, 60.0, n)
    expected = model.rhs(t, y, p, rate)
    rhs, got = _python_rhs(model.equations), np.empty((n, S))
    for u in range(n):
        rhs(t[u], y[u], np.array([p[k][u] for k in model.equations.parameters]), rate[u], got[u])
    return got, expected


# ---- (1) generated source -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", LIBRARY, ids=lambda c: c.__name__)
def test_library_equations_compute_the_library_rhs(cls):
    model = cls()
    assert _compiled.declared(model)
    got, expected = _compare_rhs(model, model.defaults, np.random.default_rng(1))
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-12)


def test_text_model_equations_compute_its_rhs():
    model = from_text(FUNCTIONS_MODEL)
    got, expected = _compare_rhs(model, model.defaults, np.random.default_rng(2))
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("expression", ["__import__('os')", "x.real", "'text'", "[1][0]", "(lambda: 1)()",
                                        "open('f')", "a if b else c", "a and b"])
def test_only_whitelisted_expressions_reach_the_source(expression):
    eq = Equations(("a", "b", "c", "x"), ("A",), (), (expression,))
    with pytest.raises(pkpd.ModelError, match="cannot compile"):
        kernel_source(eq)


def test_without_numba_compiled_says_why_and_auto_keeps_numpy(monkeypatch):
    monkeypatch.setattr(_compiled, "available", lambda: False)
    model = pk.OneCompartment()
    with pytest.raises(pkpd.SimulationError, match="needs numba"):
        model.simulate(pkpd.Bolus(100), [1.0], method="ode", solver="compiled")
    r = model.simulate(pkpd.Bolus(100), [1.0], method="ode")
    assert r["CP"][0] == pytest.approx(2.0 * math.exp(-0.1), rel=1e-6)


def test_most_doses_counts_each_subjects_dose_records_and_their_copies():
    events = pd.DataFrame({"ID": [1, 1, 1, 2, 2], "EVID": [1, 0, 4, 1, 1], "ADDL": [9, 0, 2, 28, 0]})
    assert most_doses(events) == 30          # subject 2: 1 + 28 copies + 1; subject 1: 10 + 3
    assert most_doses(events.assign(EVID=0)) == 0


class _Stiff(pk.OneCompartment):
    stiff = True


def test_auto_takes_the_compiled_kernel_from_thirty_doses(monkeypatch):
    """``solver="auto"``: Dormand-Prince in numpy (LSODA for a stiff model) below :data:`LONG_REGIMEN` doses a
    subject, the same steps compiled (Rodas5P) from there on; numpy where numba is missing or the model cannot be
    traced."""
    def solver(model, doses):
        events = pd.DataFrame({"ID": [1], "EVID": [1], "ADDL": [doses - 1]})
        return _options(model, "ode", 1e-6, 1e-9, "auto", False, events)["solver"]

    model = pk.OneCompartment()
    assert LONG_REGIMEN == 30
    assert [solver(model, 29), solver(model, 30)] == ["dp5", "compiled"]
    assert solver(_Branching(), 30) == "dp5"
    assert [solver(_Stiff(), 29), solver(_Stiff(), 30)] == ["lsoda", "rodas"]

    regimen, times = pkpd.Bolus(100, ii=12, addl=29), np.arange(0.0, 400.0, 5.0)
    auto = model.simulate(regimen, times, method="ode")["CP"]
    np.testing.assert_array_equal(auto, model.simulate(regimen, times, method="ode", solver="compiled")["CP"])
    np.testing.assert_allclose(auto, model.simulate(regimen, times, method="ode", solver="dp5")["CP"], rtol=1e-12)
    monkeypatch.setattr(_compiled, "available", lambda: False)
    assert solver(model, 30) == "dp5"


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PKPD_CACHE_DIR", str(tmp_path / "k"))
    assert _compiled.cache_dir() == tmp_path / "k"
    monkeypatch.delenv("PKPD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _compiled.cache_dir() == tmp_path / "pkpd" / "kernels"


def test_thread_ranges_cover_every_unit_once(monkeypatch):
    for n, k in [(1, 1), (10, 3), (1000, 2), (1001, 7)]:
        ranges = _compiled._ranges(n, k)
        assert ranges[0][0] == 0 and ranges[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    monkeypatch.setenv("PKPD_THREADS", "3")
    assert _compiled._threads(10_000) == 3 and _compiled._threads(100) == 1


# ---- (2) compiled with numba ----------------------------------------------------------------------------------
# one model for every test, so that the module compiles one kernel


@pytest.fixture(scope="module")
def functions_model():
    return from_text(FUNCTIONS_MODEL, name="Functions")


def _close(a, b, columns, tol=1e-9):
    for col in columns:
        floor = tol * np.max(np.abs(b[col])) + 1e-300       # the engines' absolute error (atol) near zero
        assert _rel(a[col], b[col], floor).max() <= tol, col


@pytest.mark.parametrize("sched", sorted({s for _, s in CASES}))
def test_compiled_takes_the_numpy_engines_steps(functions_model, sched):
    events = _dataset(_schedules(1)[sched], 5)
    params = _population(functions_model.defaults, 5)
    a = simulate(functions_model, events, params, method="ode", solver="compiled", states=True)
    b = simulate(functions_model, events, params, method="ode", solver="dp5", states=True)
    _close(a, b, functions_model.outputs + functions_model.states)


@pytest.mark.parametrize("solver", ["compiled", "dop853", "rodas"])
def test_compiled_matches_the_closed_form(functions_model, solver):
    model, base = MODELS["OneCompartmentOral"]
    events = _dataset(_schedules(1)["ss1"], 20)
    params = _population(base, 20)
    a = simulate(functions_model, events, params, method="ode", solver=solver, rtol=1e-10, atol=1e-12)
    exact = simulate(model, events, params, method="analytic")
    _close(a, exact, ["CP"], 1e-7)


@pytest.mark.parametrize("sched", sorted({s for _, s in CASES}))
def test_dop853_matches_the_closed_form_on_every_dosing_pattern(sched):
    """DOP853 (eighth order, landing on every output) at rtol 1e-10: within 2e-9 of the two-compartment closed form
    (Dormand-Prince 5(4) reaches 5e-10 only at rtol 1e-9, with about three times the steps)."""
    model, base = MODELS["TwoCompartmentOral"]
    events = _dataset(_schedules(1)[sched], 6)
    params = _population(base, 6)
    got = simulate(model, events, params, method="ode", solver="dop853", rtol=1e-10, atol=1e-12, states=True)
    exact = simulate(model, events, params, method="analytic", states=True)
    _close(got, exact, ["CP", "CENTRAL", "PERIPH"], 2e-9)


def test_dop853_takes_a_fifth_of_the_steps_of_dormand_prince_at_tight_tolerances():
    """Two-compartment oral, 36 h, rtol 1e-9: DOP853 within 80 steps (55 measured), where Dormand-Prince 5(4) needs
    more than 200 (285 measured)."""
    from pkpd.engine._explicit import StepOptions

    model, base = MODELS["TwoCompartmentOral"]
    values = dict(base, ALAG1=0.0)

    def fails_within(solver, max_steps):
        try:
            _compiled.integrate_compiled(model, *_one_unit(model, values, 100.0, 36.0),
                                         StepOptions(rtol=1e-9, atol=1e-12, method=solver, max_steps=max_steps))
        except pkpd.SimulationError:
            return True
        return False

    assert not fails_within("dop853", 80) and fails_within("compiled", 200)


@pytest.mark.parametrize("sched", sorted({s for _, s in CASES}))
def test_rodas_agrees_with_the_explicit_engine_on_every_dosing_pattern(functions_model, sched):
    """Rodas5P (stiff) and Dormand-Prince take different steps: both at rtol 1e-9 agree to 1e-6 of the range."""
    events = _dataset(_schedules(1)[sched], 3)
    params = _population(functions_model.defaults, 3)
    a = simulate(functions_model, events, params, method="ode", solver="rodas", rtol=1e-9, atol=1e-12, states=True)
    b = simulate(functions_model, events, params, method="ode", solver="dp5", rtol=1e-9, atol=1e-12, states=True)
    for col in functions_model.outputs + functions_model.states:
        assert np.max(np.abs(a[col] - b[col])) <= 1e-6 * (np.max(np.abs(b[col])) + 1e-300), col


def test_rodas_takes_far_fewer_steps_than_an_explicit_method_on_a_stiff_model(functions_model):
    """A fast effect site (KE0 1e4/h) over 2 days: the explicit method is held to steps of ~3/KE0 by stability;
    Rodas5P is L-stable. Both agree with the closed form's plasma concentration."""
    from pkpd.engine._explicit import StepOptions

    values = {**functions_model.defaults, "KE0": 1e4}

    def fails_within(solver, max_steps):
        try:
            _compiled.integrate_compiled(functions_model, *_one_unit(functions_model, values, 100.0, 48.0),
                                         StepOptions(method=solver, max_steps=max_steps))
        except pkpd.SimulationError:
            return True
        return False

    assert not fails_within("rodas", 400) and fails_within("compiled", 400)
    dose, times = pkpd.Bolus(100, cmt="DEPOT"), np.linspace(0, 48, 49)
    r = functions_model.simulate(dose, times, values, solver="rodas", rtol=1e-8, atol=1e-11)
    oral = {k: values[k] for k in ("CL", "V", "KA", "F1", "ALAG1")}
    np.testing.assert_allclose(r["CP"], pk.OneCompartmentOral().simulate(dose, times, oral)["CP"], rtol=1e-6,
                               atol=1e-9)


def test_rodas_is_accurate_on_a_composed_mechanistic_model(monkeypatch):
    """Rodas5P (Steinebach 2023) on the composed model of benchmarks/bench_mechanisms.py -- carbamazepine inducing
    CYP3A4 (liver and gut) that clears midazolam, midazolam's brain P-gp: 10 states, 14 days, 42 doses, dense hourly
    outputs -- at rtol 1e-6 is within 1e-5 (relative) of Dormand-Prince at rtol 1e-10 (issue 17, Done-when 1), and
    takes fewer than 1500 steps a subject where Rodas4 took about 2300."""
    from pkpd.physiology import BrainPgp, EnzymeTurnover, Induction, WellStirredLiver

    model = pkpd.compose(
        pk.OneCompartmentOral(drug="CBZ"), pk.TwoCompartmentOral(drug="MDZ"),
        EnzymeTurnover("CYP3A4", inducers={"CBZ": Induction(emax=8.0, ec50=2.0)}),
        WellStirredLiver("CBZ", {"CYP3A4": 0.55}, clh=1.5, clr=0.25, qh=86.8, fub=0.26, fg=1.0),
        WellStirredLiver("MDZ", {"CYP3A4": 0.93}, clh=19.4, clr=0.0, qh=86.8, fub=0.09, fg=0.56),
        BrainPgp("MDZ", clin=20.0, clout=20.0, clpgp=2.0))
    regimen = pkpd.Bolus(200, cmt="CBZ.DEPOT", ii=12, addl=27) + pkpd.Bolus(7.5, cmt="MDZ.DEPOT", ii=24, addl=13)
    times = np.arange(0.0, 337.0)
    rng = np.random.default_rng(3)
    base = {"CBZ.CL": 1.75, "CBZ.V": 98.0, "CBZ.KA": 0.5, "CBZ.FU": 0.26, "MDZ.CL": 19.4, "MDZ.V1": 30.0,
            "MDZ.Q": 40.0, "MDZ.V2": 50.0, "MDZ.KA": 3.0, "MDZ.FU": 0.06}
    params = pd.DataFrame({"ID": np.arange(1, 5), **{
        k: v * (np.exp(0.3 * rng.standard_normal(4)) if k in ("CBZ.CL", "MDZ.CL") else np.ones(4))
        for k, v in base.items()}})
    fast = model.simulate(regimen, times, params, solver="rodas", rtol=1e-6, atol=1e-9, states=False)["MDZ.CP"]
    ref = model.simulate(regimen, times, params, solver="compiled", rtol=1e-10, atol=1e-13, states=False)["MDZ.CP"]
    fast, ref = np.reshape(fast, (4, -1)), np.reshape(ref, (4, -1))
    seen = ref > 1e-6 * ref.max(axis=1, keepdims=True)
    error = np.max(np.abs(fast - ref)[seen] / ref[seen])
    assert 1e-8 < error <= 1e-5          # a real error (not the reference itself), within the criterion
    original = _compiled.integrate_compiled           # the same run with a budget of 1500 steps a subject
    monkeypatch.setattr(_compiled, "integrate_compiled",
                        lambda *args: original(*args[:-1], args[-1]._replace(max_steps=1500)))
    model.simulate(regimen, times, params, solver="rodas", rtol=1e-6, atol=1e-9, states=False)


def test_compiled_with_parameters_changing_at_records(functions_model):
    events, params, rp = _varying(functions_model, functions_model.defaults, _schedules(1)["addl"], 4, "nocb")
    a = simulate(functions_model, events, params, method="ode", solver="compiled", record_params=rp, states=True)
    b = simulate(functions_model, events, params, method="ode", solver="dp5", record_params=rp, states=True)
    _close(a, b, functions_model.outputs + functions_model.states)


def test_a_regimen_of_many_subjects_and_the_initial_state(functions_model):
    rng = np.random.default_rng(3)
    params = pd.DataFrame({"ID": np.arange(1, 201), **{k: v * np.exp(0.2 * rng.standard_normal(200))
                                                         for k, v in functions_model.defaults.items() if k != "F1"}})
    regimen = pkpd.Bolus(100, cmt="DEPOT", ii=12, addl=3) + pkpd.Infusion(50, duration=2, time=50, cmt="CENTRAL")
    times = np.linspace(0, 72, 145)
    a = functions_model.simulate(regimen, times, params, solver="compiled", states=True)
    b = functions_model.simulate(regimen, times, params, solver="dp5", states=True)
    _close(a, b, ("CP", "CE", "RESP", "DEPOT"))
    assert a["RESP"][0] == pytest.approx(params["BASE"][0])         # [INIT] RESP = BASE


def _one_unit(model, values, amount, end):
    """Parameters, start, course and outputs of one unit given a bolus ``amount`` into its first state at 0."""
    from pkpd.engine._explicit import Breakpoints, Course, Kind, Outputs, Start

    S, p = len(model.states), {k: np.array([v]) for k, v in values.items()}
    bps = Breakpoints.build(1, np.array([0]), np.array([0.0]), np.zeros(1), np.array([Kind.BOLUS]),
                            cmt=np.array([0]), value=np.array([amount]))
    return p, Start(np.zeros(1), model.initial_state(p), np.zeros((1, S))), Course(bps, np.array([end]),
                                                                                  np.zeros((0, S))), Outputs()


def test_a_failing_unit_is_named_and_the_callers_arrays_are_kept(functions_model):
    from pkpd.engine._explicit import Breakpoints, Course, Kind, Outputs, Start, StepOptions, integrate

    model, S = functions_model, len(functions_model.states)
    bps = Breakpoints.build(2, np.array([1]), np.array([1.0]), np.zeros(1), np.array([Kind.BOLUS]),
                            cmt=np.array([0]), value=np.array([100.0]))
    start = Start(np.zeros(2), np.zeros((2, S)), np.zeros((2, S)))
    course = Course(bps, np.array([0.0, 100.0]), np.zeros((0, S)))
    params = {k: np.full(2, v) for k, v in model.defaults.items()}
    with pytest.raises(pkpd.SimulationError, match="integration unit 1: more than 3 steps"):
        _compiled.integrate_compiled(model, params, start, course, Outputs(), StepOptions(max_steps=3))
    y_end, _, _ = _compiled.integrate_compiled(model, params, start, course, Outputs(), StepOptions())
    expected, _, _ = integrate(model, params, start, course, Outputs(), StepOptions())
    np.testing.assert_allclose(y_end, expected, rtol=1e-10, atol=1e-15)
    assert params["CL"].tolist() == [model.defaults["CL"]] * 2       # the caller's arrays are not modified


@pytest.mark.parametrize("compiled", [True, False])
def test_the_batched_matrix_exponential_matches_scipy(monkeypatch, compiled):
    """The exact integrator's expm (Pade 13, scaling and squaring): compiled by numba, and the numpy fallback. The
    compiled one takes degree 3, 5, 7 or 9 below their 1-norm bounds: norms from 1e-3 to 100 reach every degree."""
    import scipy.linalg

    from pkpd.engine import _closed_form

    monkeypatch.setattr(_closed_form, "_numba", lambda: compiled)
    rng = np.random.default_rng(4)
    stack = np.concatenate([rng.standard_normal((20, 4, 4)) * scale
                            for scale in (1e-3, 3e-3, 0.05, 0.2, 0.4, 1.0, 30.0)])
    stack[0] = 0.0                                                  # exactly the identity
    stack[1] = np.triu(stack[1])                                    # triangular, as one-compartment oral
    got = _closed_form._expm(stack)
    expected = np.array([scipy.linalg.expm(m) for m in stack])
    scale = np.abs(expected).max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(got / scale, expected / scale, atol=1e-12)
    np.testing.assert_array_equal(got[0], np.eye(4))


@pytest.fixture(scope="module")
def cohort():
    return synthetic.cohort(OneCompartmentOral(), pkpd.Bolus(100, cmt="DEPOT"), 12,
                            params={"CL": 5.0, "V": 40.0, "KA": 1.2}, iiv={"CL": 0.3, "V": 0.2},
                            error=pkpd.ProportionalError(0.1), design=[0.5, 1, 2, 4, 8, 12, 24], seed=5)


@pytest.mark.parametrize("method", ["FOCEI", "FO"])
def test_population_objective_on_the_compiled_engine_equals_the_numpy_engines(functions_model, cohort, method):
    """Fits on the compiled engine (``engine="compiled"``): the same objective as the numpy ODE engine."""
    start = {"CL": 4.0, "V": 45.0, "KA": 1.0, "F1": 0.8, "ALAG1": 0.25}        # the text model's F1 and ALAG1
    omega = {"CL": 0.1, "V": 0.05}
    text = PopulationModel(functions_model, start, omega, pkpd.ProportionalError(0.12))
    compiled = population_ofv(text, cohort.data, engine="compiled", method=method)
    numpy_ode = population_ofv(text, cohort.data, engine="ode", method=method)
    closed = population_ofv(PopulationModel(OneCompartmentOral(), start, omega, pkpd.ProportionalError(0.12)),
                            cohort.data, engine="analytic", method=method)
    assert compiled == pytest.approx(numpy_ode, abs=1e-6)
    assert compiled == pytest.approx(closed, rel=1e-6)        # ODE tolerance (rtol 1e-9) through the derivatives


def test_what_depends_on_parameters_alone_is_derived_once_not_at_every_call():
    """``derive`` computes the parameter-only quantity ``K``, the call ``log(KM / C0)`` and ``V2 / (V1 + V2)``;
    ``rhs`` reads them (no log, no division of parameters left in it), and a Hill slope of 1 skips ``pow``. Run as
    plain Python, derive-then-rhs equals the equations evaluated directly."""
    eq = Equations(("CL", "V1", "V2", "KM", "C0", "N"), ("A",), (("K", "CL / V1"), ("C", "A / V1")),
                   ("-K * A * log(KM / C0) * V2 / (V1 + V2) - C ** N",))
    source = kernel_source(eq)
    rhs = source.split("def rhs")[1]
    assert "math.log" not in rhs and "(v_V1 + v_V2)" not in rhs and "v_CL / v_V1" not in rhs
    assert "if v_N == 1.0 else" in rhs
    assert source.startswith("N_DERIVED = ")
    p = np.array([5.0, 40.0, 60.0, 3.0, 1.5, 1.0])
    dy = np.empty(1)
    _python_rhs(eq)(0.0, np.array([20.0]), p, np.zeros(1), dy)
    CL, V1, V2, KM, C0, N = p
    expected = -CL / V1 * 20.0 * math.log(KM / C0) * V2 / (V1 + V2) - (20.0 / V1) ** N
    assert dy[0] == pytest.approx(expected, rel=1e-15)


def test_the_dop853_tableau_is_scipys():
    """The kernel reads scipy's DOP853 coefficients without importing ``scipy.integrate`` (0.2-0.4 s at every
    process's first compiled simulation): the same numbers, and scipy.integrate left unimported."""
    import subprocess
    import sys

    from scipy.integrate._ivp import dop853_coefficients as scipy_dop853

    from pkpd.engine import _kernel

    for ours, theirs in ((_kernel.C8, scipy_dop853.C), (_kernel.A8, scipy_dop853.A), (_kernel.B8, scipy_dop853.B),
                         (_kernel.E3, scipy_dop853.E3), (_kernel.E5, scipy_dop853.E5)):
        assert np.array_equal(ours, theirs)
    assert _kernel.STAGES8 == scipy_dop853.N_STAGES
    probe = "import sys, pkpd.engine._kernel; print('scipy.integrate' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() \
        == "False"
