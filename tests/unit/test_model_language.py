"""The model language (issue 17): a model in a few lines of text, read safely, that works like a library model.

- a one-compartment model with Michaelis-Menten elimination and an effect compartment, in <= 15 lines, equals the
  library's composition ``OneCompartmentMM + EffectCompartment`` and an independent ``solve_ivp`` integration
  over a multiple-dose regimen;
- a linear one-compartment model from text equals ``OneCompartment``'s closed form;
- malformed texts raise ``ModelError`` naming the line and the symbol;
- no text runs code: imports, attribute access, lambdas, strings, indexing are refused before anything is
  evaluated.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

import pkpd
from pkpd.estimation import AdditiveError, fit_individual, make_params
from pkpd.models import OneCompartment, OneCompartmentMM, TextModel, from_text
from pkpd.models.effects import EffectCompartment

MM_EFFECT = """\
[PARAM] VMAX = 10 mg/h; KM = 2 mg/L; V = 50 L; KE0 = 0.5 1/h
[CMT] CENTRAL; CE
[MAIN] CP = CENTRAL / V
[ODE]
dCENTRAL = -VMAX * CP / (KM + CP)
dCE = KE0 * (CP - CE)
[OUTPUT] CP; CE
"""

LINEAR = """
[PARAM] CL = 5 L/h   # clearance
        V = 50 L     # volume
[CMT] CENTRAL
[MAIN] CP = CENTRAL / V
[ODE] dCENTRAL = -CL * CP
[OUTPUT] CP
"""

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
TIMES = np.linspace(0.25, 84.0, 60)                               # over and between the doses
MM_PARAMS = {"VMAX": 12.0, "KM": 3.0, "V": 40.0, "KE0": 0.8}


def _mm_regimen(cmt=None):
    return pkpd.Bolus(300, cmt=cmt) + pkpd.Infusion(200, duration=2, time=24, ii=12, addl=3, cmt=cmt)


@pytest.fixture(scope="module")
def mm_effect():
    return from_text(MM_EFFECT, name="MMEffect")


# -- (1) Michaelis-Menten + effect compartment ----------------------------------------------------------------
def test_the_mm_effect_model_is_short():
    assert len(MM_EFFECT.strip().splitlines()) <= 15


def test_mm_effect_from_text_matches_the_library_composition(mm_effect):
    r = mm_effect.simulate(_mm_regimen(), TIMES, MM_PARAMS, **TIGHT)
    library = pkpd.compose(OneCompartmentMM(drug="D"), EffectCompartment("D", ke0=MM_PARAMS["KE0"]))
    ref = library.simulate(_mm_regimen("D.CENTRAL"), TIMES,
                           {"D.VMAX": 12.0, "D.KM": 3.0, "D.V": 40.0, "D_EFFECT.KE0": 0.8}, **TIGHT)
    np.testing.assert_allclose(r["CP"], ref["D.CP"], rtol=1e-8)
    np.testing.assert_allclose(r["CE"], ref["D_EFFECT.CE"], rtol=1e-8)
    np.testing.assert_allclose(r["CENTRAL"], ref["D.CENTRAL"], rtol=1e-8)


def _solve_ivp_mm(times):
    """The same equations and doses, integrated by scipy piece by piece between the dose events."""
    p = MM_PARAMS
    starts = [24.0 + 12 * k for k in range(4)]                       # 100 mg/h for 2 h each
    events = sorted({0.0, *starts, *(s + 2 for s in starts), float(times[-1])})
    y, out = np.array([300.0, 0.0]), np.full((len(times), 2), np.nan)
    for a, b in zip(events[:-1], events[1:]):
        rate = 100.0 if any(s <= a < s + 2 for s in starts) else 0.0

        def f(t, y, rate=rate):
            cp = y[0] / p["V"]
            return [rate - p["VMAX"] * cp / (p["KM"] + cp), p["KE0"] * (cp - y[1])]

        inside = (times > a) & (times <= b)
        points = np.unique(np.r_[times[inside], b])
        sol = solve_ivp(f, (a, b), y, t_eval=points, rtol=1e-10, atol=1e-12, method="LSODA")
        out[inside] = sol.y.T[np.searchsorted(points, times[inside])]
        y = sol.y[:, -1]
    return out


def test_mm_effect_from_text_matches_an_independent_solve_ivp(mm_effect):
    r = mm_effect.simulate(_mm_regimen(), TIMES, MM_PARAMS, **TIGHT)
    ref = _solve_ivp_mm(TIMES)
    np.testing.assert_allclose(r["CENTRAL"], ref[:, 0], rtol=1e-7)
    np.testing.assert_allclose(r["CE"], ref[:, 1], rtol=1e-7)


# -- (2) linear one compartment against the closed form -------------------------------------------------------
def test_linear_text_model_matches_the_one_compartment_closed_form():
    model = from_text(LINEAR)
    regimen = pkpd.Bolus(100, ii=8, addl=5) + pkpd.Infusion(50, duration=1.5, time=3)
    params = {"CL": 4.2, "V": 37.0}
    r = model.simulate(regimen, TIMES, params, **TIGHT)
    ref = OneCompartment().simulate(regimen, TIMES, params, method="analytic")
    np.testing.assert_allclose(r["CP"], ref["CP"], rtol=1e-8)
    assert model.parameter("CL").description == "clearance" and model.parameter("V").unit == "L"


# -- a text model works wherever a library model does ---------------------------------------------------------
def test_structure_defaults_and_repr(mm_effect):
    assert isinstance(mm_effect, pkpd.models.Model) and isinstance(mm_effect, TextModel)
    assert mm_effect.states == ("CENTRAL", "CE") and mm_effect.outputs == ("CP", "CE")
    assert mm_effect.defaults == {"VMAX": 10.0, "KM": 2.0, "V": 50.0, "KE0": 0.5}
    assert mm_effect.parameter("KE0").unit == "1/h" and mm_effect.parameter("V").lower == 0.0
    assert mm_effect.dose_index(None) == 0 and mm_effect.dose_index("CE") == 1
    assert repr(mm_effect) == "MMEffect(VMAX=10, KM=2, V=50, KE0=0.5)"
    assert mm_effect.output_states == ("CENTRAL", "CE")
    with pytest.raises(pkpd.ParameterError):
        mm_effect.simulate(pkpd.Bolus(1), [1.0], {"V": -1.0})


def test_simulate_a_dataset_of_several_subjects_with_pkpd_simulate(mm_effect):
    data = pd.DataFrame({"ID": [1, 1, 1, 2, 2, 2], "TIME": [0.0, 2.0, 6.0] * 2, "AMT": [200, 0, 0, 100, 0, 0],
                         "DV": np.nan})
    params = pd.DataFrame({"ID": [1, 2], "V": [40.0, 60.0]})
    r = pkpd.simulate(mm_effect, pkpd.read_nonmem(data), params, **TIGHT).to_frame()
    for i, (amt, v) in enumerate(((200, 40.0), (100, 60.0)), start=1):
        one = mm_effect.simulate(pkpd.Bolus(amt), [2.0, 6.0], {"V": v}, **TIGHT)
        got = r.loc[(r["ID"] == i) & (r["TIME"] > 0), "CE"].to_numpy()
        np.testing.assert_allclose(got, one["CE"], rtol=1e-9)


def test_a_text_model_fits_with_make_params(mm_effect):
    times = np.array([0.5, 1, 2, 4, 8, 12, 24, 36])
    truth = {"VMAX": 12.0, "KM": 3.0, "V": 40.0, "KE0": 0.5}
    cp = mm_effect.simulate(pkpd.Bolus(300), times, truth, rtol=1e-9, atol=1e-11)["CP"]
    data = pkpd.read_nonmem(pd.DataFrame({"ID": 1, "TIME": np.r_[0.0, times], "AMT": np.r_[300.0, 0 * times],
                                          "DV": np.r_[np.nan, cp], "CMT": 1}))
    params = make_params(mm_effect, {"VMAX": 9.0, "KM": 3.0, "V": 30.0}, log=("VMAX", "V"), fixed=("KM", "KE0"))
    fit = fit_individual(mm_effect, data, params, error=AdditiveError(0.01, fixed=True))
    assert fit.estimates["VMAX"] == pytest.approx(12.0, rel=1e-4)
    assert fit.estimates["V"] == pytest.approx(40.0, rel=1e-4)


def test_a_text_model_with_a_drug_prefix_composes_and_pickles(mm_effect):
    mdz = mm_effect.replace(drug="MDZ")
    assert mdz.drug == "MDZ" and mm_effect.drug is None and mdz.name == "MMEffect"
    model = pkpd.compose(mdz, EffectCompartment("MDZ", ke0=2.0))
    r = model.simulate(pkpd.Bolus(100, cmt="MDZ.CENTRAL"), [1.0, 4.0], {"MDZ.KE0": 0.5}, **TIGHT)
    alone = mm_effect.simulate(pkpd.Bolus(100), [1.0, 4.0], **TIGHT)
    np.testing.assert_allclose(r["MDZ.CE"], alone["CE"], rtol=1e-9)
    for twin in (pickle.loads(pickle.dumps(mdz)), copy.deepcopy(mdz)):
        assert type(twin) is TextModel and twin.text == mdz.text and twin.drug == "MDZ"
        np.testing.assert_array_equal(twin.simulate(pkpd.Bolus(100), [2.0])["CE"],
                                      mdz.simulate(pkpd.Bolus(100), [2.0])["CE"])


def test_init_functions_bounds_dosing_parameters_and_output_expressions():
    text = """
    $PARAM KIN = 10 1/h; KOUT = 0.5 1/h; IC50 = 2 mg/L; CL = 5 L/h; V = 50 L
           SLOPE = -0.1 [-inf, inf]; F1 = 0.8 [0, 1]
    $CMT CENTRAL, R
    $INIT R = KIN / KOUT
    $MAIN CP = max(CENTRAL, 0) / V; INH = CP / (IC50 + CP)
          ON = where(t < 100, 1, 0)
    $ODE dCENTRAL = -CL * CP
         dR = KIN * (1 - INH) * ON - KOUT * R
    $OUTPUT CP; R; PCT = 100 * R / (KIN / KOUT) + SLOPE * 0 + min(0, 1, 2) + pow(abs(-2), 0) * sqrt(exp(log(1)))
    """
    model = from_text(text, name="Indirect", stiff=True, clearance=("CL",))
    assert model.stiff and model.clearance_parameters == ("CL",)
    assert model.parameter("SLOPE").lower == -np.inf and model.parameter("F1").upper == 1.0
    r = model.simulate(pkpd.Bolus(100), [0.0, 2.0], **TIGHT)
    assert r["R"][0] == pytest.approx(20.0)
    assert r["CP"][0] == pytest.approx(0.8 * 100 / 50)                   # F1 of compartment 1
    assert r["PCT"][0] == pytest.approx(100 + 1)
    assert r["R"][1] < 20.0


def test_derivatives_add_infusions_and_time_may_drive_the_equations():
    model = from_text("[PARAM] K = 1 1/h\n[CMT] A\n[ODE] dA = -K * A + where(t < 1, 2, 0)\n[OUTPUT] A")
    r = model.simulate(pkpd.Infusion(3, duration=3), [5.0], **TIGHT)
    k = 1.0     # 1 mg/h for 3 h plus 2 mg/h for 1 h: A(5) by superposition
    expected = 1 / k * (1 - np.exp(-3 * k)) * np.exp(-2 * k) + 2 / k * (1 - np.exp(-k)) * np.exp(-4 * k)
    assert r["A"][0] == pytest.approx(expected, rel=1e-8)


# -- (3) malformed texts name the line and the symbol -----------------------------------------------------------
GOOD_HEAD = "[PARAM] CL = 5 L/h; V = 50 L\n[CMT] CENTRAL\n"

MALFORMED = [
    ("undefined name",
     GOOD_HEAD + "[MAIN] CP = CENTRAL / V\n[ODE] dCENTRAL = -CLL * CP\n[OUTPUT] CP", "line 4", "'CLL'"),
    ("derivative of an unknown state",
     GOOD_HEAD + "[ODE]\ndCENTRAL = -CL / V * CENTRAL\ndPERIPH = 0\n[OUTPUT] CENTRAL", "line 5", "'PERIPH'"),
    ("state without derivative",
     "[PARAM] CL = 5 L/h; V = 50 L\n[CMT] CENTRAL; PERIPH\n[ODE]\ndCENTRAL = -CL / V * CENTRAL\n[OUTPUT] CENTRAL",
     "line 4", "'PERIPH'"),
    ("duplicate parameter", "[PARAM] CL = 5 L/h\nV = 50 L; CL = 3\n[CMT] A\n[ODE] dA = -CL / V * A\n[OUTPUT] A",
     "line 2", "'CL'"),
    ("quantity shadows a state",
     GOOD_HEAD + "[MAIN]\nCENTRAL = 3\n[ODE] dCENTRAL = -CL / V * CENTRAL\n[OUTPUT] CENTRAL", "line 4", "'CENTRAL'"),
    ("duplicate derivative",
     GOOD_HEAD + "[ODE]\ndCENTRAL = -CL / V * CENTRAL\ndCENTRAL = 0\n[OUTPUT] CENTRAL", "line 5", "'dCENTRAL'"),
    ("used before it is defined",
     GOOD_HEAD + "[MAIN]\nK = CP / CENTRAL * CL\nCP = CENTRAL / V\n[ODE] dCENTRAL = -K * CENTRAL\n[OUTPUT] CP",
     "line 4", "'CP'"),
    ("disallowed function", GOOD_HEAD + "[ODE] dCENTRAL = -CL / V * sin(CENTRAL)\n[OUTPUT] CENTRAL", "line 3",
     "'sin'"),
    ("disallowed operator", GOOD_HEAD + "[ODE] dCENTRAL = -CL // V * CENTRAL\n[OUTPUT] CENTRAL", "line 3", "//"),
    ("syntax error", GOOD_HEAD + "[ODE] dCENTRAL = -CL / (V * CENTRAL\n[OUTPUT] CENTRAL", "line 3", "dCENTRAL"),
    ("section missing", GOOD_HEAD + "[ODE] dCENTRAL = -CL / V * CENTRAL\n", "line 3", "[OUTPUT]"),
    ("unknown section", GOOD_HEAD + "[TABLE] X = 1\n[ODE] dCENTRAL = 0\n[OUTPUT] CENTRAL", "line 3", "[TABLE]"),
    ("unreadable parameter", "[PARAM] CL = 5 L/h\nV = fifty\n[CMT] A\n[ODE] dA = 0\n[OUTPUT] A", "line 2", "'V'"),
    ("negative default without bounds", "[PARAM] S = -1\n[CMT] A\n[ODE] dA = S\n[OUTPUT] A", "line 1", "S"),
    ("unknown output", GOOD_HEAD + "[ODE] dCENTRAL = -CL / V * CENTRAL\n[OUTPUT]\nCP", "line 5", "'CP'"),
    ("output depends on time", GOOD_HEAD + "[ODE] dCENTRAL = 0\n[OUTPUT] X = CENTRAL * t", "line 4", "'X'"),
    ("not a derivative in [ODE]", GOOD_HEAD + "[ODE] CP = CENTRAL / V\n[OUTPUT] CENTRAL", "line 3", "'CP'"),
    ("reserved name", "[PARAM] exp = 1\n[CMT] A\n[ODE] dA = 0\n[OUTPUT] A", "line 1", "'exp'"),
    ("initial value reads a state", GOOD_HEAD + "[INIT] CENTRAL = CENTRAL\n[ODE] dCENTRAL = 0\n[OUTPUT] CENTRAL",
     "line 3", "'CENTRAL'"),
]


@pytest.mark.parametrize("what, text, line, symbol", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_texts_name_the_line_and_the_symbol(what, text, line, symbol):
    with pytest.raises(pkpd.ModelError) as info:
        from_text(text, name="Bad")
    message = str(info.value)
    assert f"{line}:" in message or f"{line} " in message, message
    assert symbol in message, message
    assert "Bad" in message


# -- (4) no text runs code ---------------------------------------------------------------------------------------
INJECTIONS = [
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w')",
    "CL.__class__",
    "(lambda: 1)()",
    "CL if V else 0",
    "[c for c in ()]",
    "'{marker}'",
    "CL[0]",
    "exp.__globals__",
    "globals()",
    "exp(x=1)",
    "(V := 3)",
]


@pytest.mark.parametrize("expression", INJECTIONS)
def test_no_text_runs_code(expression, tmp_path):
    marker = tmp_path / "ran"
    text = GOOD_HEAD + f"[ODE] dCENTRAL = {expression.format(marker=marker)}\n[OUTPUT] CENTRAL"
    with pytest.raises(pkpd.ModelError, match="line 3"):
        from_text(text)
    for where in (f"[MAIN] Q = {expression.format(marker=marker)}", f"[OUTPUT] Q = {expression.format(marker=marker)}"):
        with pytest.raises(pkpd.ModelError):
            from_text(GOOD_HEAD + where + "\n[ODE] dCENTRAL = 0\n[OUTPUT] CENTRAL")
    assert not marker.exists()


def test_refusals_say_what_is_refused():
    def message(expression):
        with pytest.raises(pkpd.ModelError) as info:
            from_text(GOOD_HEAD + f"[ODE] dCENTRAL = {expression}\n[OUTPUT] CENTRAL")
        return str(info.value)

    assert "'__import__' is not allowed" in message("__import__('os')")
    assert "attribute access" in message("CL.real")
    assert "lambda" in message("(lambda: 1)()")
    assert "exp, log, sqrt, abs, min, max, pow, where" in message("sin(CL)")


def test_the_language_module_compiles_and_evaluates_nothing():
    """The checked expressions become closures over numpy functions and operators: nothing compiled from the
    text, no ``eval``/``exec``/``compile`` (tests/unit/test_security.py scans the whole package the same way)."""
    import ast
    import pkpd.models.language as language

    tree = ast.parse(open(language.__file__, encoding="utf-8").read())
    calls = [node.func for node in ast.walk(tree) if isinstance(node, ast.Call)]
    by_name = {f.id for f in calls if isinstance(f, ast.Name)}
    by_method = {f.attr for f in calls if isinstance(f, ast.Attribute)}
    assert not by_name & {"eval", "exec", "compile", "__import__", "getattr", "open"}
    assert not by_method & {"eval", "exec"}


def test_a_text_that_is_not_a_string_is_refused():
    with pytest.raises(pkpd.ModelError, match="str"):
        from_text(b"[PARAM]")
    with pytest.raises(pkpd.ModelError, match="name"):
        from_text(LINEAR, name="not a name")
