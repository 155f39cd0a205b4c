"""pkpd.plot: profile, spaghetti, individual_fits, se_panel, ddi and endpoints draw the data they are given.

Every test checks the plotted data (line and ribbon coordinates against the simulated values, quantiles and
confidence intervals), the axis labels with units, and that the Axes passed in are the ones drawn on and
returned; nothing is shown (Agg backend, plt.show patched to fail). Bad input names the missing output.
"""

import types

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import pkpd  # noqa: E402
from pkpd import drugs, scenarios  # noqa: E402
from pkpd.models import OneCompartment, OneCompartmentOral  # noqa: E402
from pkpd.trials import TrialResult  # noqa: E402


@pytest.fixture(autouse=True)
def no_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("plt.show() called")

    monkeypatch.setattr(plt, "show", fail)
    plt.close("all")          # figures left open by earlier tests or doctests
    yield
    plt.close("all")


def _new_ax():
    fig, ax = plt.subplots()
    return fig, ax


def _xy(line):
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def _vlines_x(ax):
    """x of the vertical dose lines (axvline: two equal x in data coordinates)."""
    return sorted(float(line.get_xdata()[0]) for line in ax.lines
                  if line.get_linestyle() == ":" and line.get_xdata()[0] == line.get_xdata()[1]
                  and list(line.get_ydata()) == [0, 1])


# -- profile ----------------------------------------------------------------------------------------
REGIMEN = pkpd.Bolus(250, cmt="DEPOT", ii=12, addl=2) + pkpd.Infusion(60, duration=2.0, time=30, cmt="CENTRAL")
TIMES = np.linspace(0, 48, 97)


@pytest.fixture(scope="module")
def oral():
    return OneCompartmentOral().simulate(REGIMEN, TIMES, {"CL": 3.0, "V": 30.0, "KA": 1.5})


def test_profile_draws_the_simulated_values_and_marks_doses(oral):
    fig, given = _new_ax()
    ax = pkpd.plot.profile(oral, ax=given, doses=REGIMEN)
    assert ax is given and plt.get_fignums() == [fig.number]
    x, y = _xy(ax.lines[0])
    assert np.array_equal(x, TIMES) and np.array_equal(y, oral["CP"])
    assert ax.get_xlabel() == "Time (h)" and ax.get_ylabel() == "CP (mg/L)"
    assert _vlines_x(ax) == [0.0, 12.0, 24.0]                           # ADDL copies expanded
    spans = [p for p in ax.patches] + [c for c in ax.collections]
    assert len(spans) == 1                                               # the infusion, 30-32 h
    span = spans[0]                                  # a Rectangle (matplotlib >= 3.9) or a Polygon
    xs = [span.get_x(), span.get_x() + span.get_width()] if hasattr(span, "get_width") else span.get_xy()[:, 0]
    assert (min(xs), max(xs)) == pytest.approx((30.0, 32.0))
    assert ax.get_yscale() == "linear"


def test_profile_units_time_unit_log_and_frames(oral):
    # dose times as plain numbers are in the call's time_unit (issue 18: one time unit per call)
    ax = pkpd.plot.profile(oral, "CP", unit="ng/mL", time_unit="min", log=True, doses=[0.0, 720.0])
    x, y = _xy(ax.lines[0])
    assert x == pytest.approx(TIMES * 60) and y == pytest.approx(oral["CP"] * 1000)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_yscale()) == ("Time (min)", "CP (ng/mL)", "log")
    assert _vlines_x(ax) == [0.0, 720.0]
    # a tidy frame (concentration columns are taken in mg/L), two subjects: one line each
    frame = pd.concat([oral.to_frame().assign(ID=1), oral.to_frame().assign(ID=2, CP=lambda d: 2 * d["CP"])])
    ax = pkpd.plot.profile(frame)
    assert len(ax.lines) == 2 and ax.get_ylabel() == "CP (mg/L)"
    assert _xy(ax.lines[1])[1] == pytest.approx(2 * oral["CP"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["CP, ID 1", "CP, ID 2"]


def test_profile_default_outputs_are_the_plasma_concentrations():
    frame = pd.DataFrame({"TIME": [0.0, 1.0, 2.0], "A.CP": [1.0, 2.0, 3.0], "B.CP": [3.0, 2.0, 1.0],
                          "A.CENTRAL": [5.0, 5.0, 5.0]})
    ax = pkpd.plot.profile(frame)
    assert [_xy(line)[1].tolist() for line in ax.lines] == [[1, 2, 3], [3, 2, 1]]
    assert ax.get_ylabel() == "Concentration (mg/L)"


def test_profile_bad_input(oral):
    with pytest.raises(pkpd.ParameterError, match="'CQ'.*available"):
        pkpd.plot.profile(oral, "CQ")
    with pytest.raises(pkpd.ParameterError, match="different units"):
        pkpd.plot.profile(oral, ["CP", "CENTRAL"])
    with pytest.raises(pkpd.ParameterError, match="TIME"):
        pkpd.plot.profile(pd.DataFrame({"CP": [1.0]}))
    with pytest.raises(pkpd.ParameterError, match="no subject"):
        pkpd.plot.profile(oral, ids=[7])


# -- spaghetti --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def population():
    rng = np.random.default_rng(3)
    params = pd.DataFrame({"ID": np.arange(1, 41), "CL": 5 * np.exp(0.3 * rng.standard_normal(40)), "V": 50.0})
    times = np.linspace(0, 24, 49)
    res = OneCompartment().simulate(pkpd.Bolus(100, ii=12, addl=1), times, params)
    return res, times, np.asarray(res["CP"]).reshape(40, -1)


def test_spaghetti_draws_every_subject_the_median_and_the_quantile_ribbon(population):
    res, times, cp = population
    fig, given = _new_ax()
    ax = pkpd.plot.spaghetti(res, "CP", ax=given, quantiles=(0.1, 0.5, 0.9))
    assert ax is given and plt.get_fignums() == [fig.number]
    assert len(ax.lines) == 41
    for k in (0, 17, 39):
        x, y = _xy(ax.lines[k])
        assert np.array_equal(x, times) and np.array_equal(y, cp[k])
    lo, med, hi = np.quantile(cp, [0.1, 0.5, 0.9], axis=0)
    assert _xy(ax.lines[-1])[1] == pytest.approx(med)
    vertices = ax.collections[0].get_paths()[0].vertices
    for j, t in enumerate(times):
        ys = vertices[vertices[:, 0] == t, 1]
        assert (ys.min(), ys.max()) == pytest.approx((lo[j], hi[j]))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Time (h)", "CP (mg/L)")


def test_spaghetti_frames_caps_and_units(population):
    res, times, cp = population
    frame = res.to_frame()
    ax = pkpd.plot.spaghetti(frame, "CP", max_lines=5, unit="ug/L", time_unit="d")
    assert len(ax.lines) == 6                                            # 5 subjects + median
    assert _xy(ax.lines[2])[1] == pytest.approx(cp[2] * 1000)
    assert _xy(ax.lines[0])[0] == pytest.approx(times / 24)
    assert _xy(ax.lines[-1])[1] == pytest.approx(np.median(cp, axis=0) * 1000)   # all 40 subjects
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Time (d)", "CP (ug/L)")
    assert "5 of 40 shown" in ax.get_legend().get_texts()[0].get_text()


def test_spaghetti_bad_input(population):
    res = population[0]
    with pytest.raises(pkpd.ParameterError, match="'AUC'"):
        pkpd.plot.spaghetti(res, "AUC")
    with pytest.raises(pkpd.ParameterError, match="quantiles"):
        pkpd.plot.spaghetti(res, "CP", quantiles=(0.9, 0.5, 0.1))
    with pytest.raises(pkpd.ParameterError, match="'CP'.*available"):
        pkpd.plot.spaghetti(pd.DataFrame({"ID": [1], "TIME": [0.0], "DV": [1.0]}), "CP")


# -- individual_fits --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fits():
    events = pkpd.load_dataset("indometacin").events
    return pkpd.estimation.fit_each(OneCompartment(), events[events["ID"] <= 3])


def test_individual_fits_draws_observations_and_fitted_curves(fits):
    axes = pkpd.plot.individual_fits(fits, ncols=2)
    assert len(axes) == 3
    grid = axes[0].figure.axes
    assert len(grid) == 4 and not grid[3].get_visible()                  # 2 x 2 grid, the spare cell hidden
    for ax, (sid, fit) in zip(axes, fits.items()):
        curve, points = ax.lines[0], ax.lines[1]
        x, y = _xy(curve)
        assert y == pytest.approx(fit.predict(x, sid)["PRED"].to_numpy(), rel=1e-9)
        obs = fit.predictions
        assert np.array_equal(_xy(points)[0], obs["TIME"].to_numpy(dtype=float))
        assert np.array_equal(_xy(points)[1], obs["DV"].to_numpy(dtype=float))
        assert ax.get_title() == f"ID {sid}"
    assert [ax.get_ylabel() for ax in axes] == ["CP (mg/L)", "", "CP (mg/L)"]
    assert [ax.get_xlabel() for ax in axes] == ["", "Time (h)", "Time (h)"]


def test_individual_fits_reuses_axes_pooled_fits_and_bad_input(fits):
    fig, given = plt.subplots(1, 3)
    axes = pkpd.plot.individual_fits(list(fits.values()), axes=given, log=True)
    assert list(axes) == list(given) and plt.get_fignums() == [fig.number]
    assert all(ax.get_yscale() == "log" for ax in axes)
    # a pooled fit: one panel per subject, the same parameters
    events = pkpd.load_dataset("indometacin").events
    pooled = pkpd.estimation.fit_pooled(OneCompartment(), events[events["ID"] <= 2])
    axes = pkpd.plot.individual_fits(pooled)
    assert [ax.get_title() for ax in axes] == ["ID 1", "ID 2"]
    with pytest.raises(pkpd.ParameterError, match="3 panels"):
        pkpd.plot.individual_fits(fits, axes=given[:2])
    with pytest.raises(pkpd.ParameterError, match="FitResult"):
        pkpd.plot.individual_fits([object()])


# -- se_panel ---------------------------------------------------------------------------------------
SE_TIMES = np.arange(0, 91, 5) / 60


@pytest.fixture(scope="module")
def se():
    model = scenarios.se_model(("midazolam",))
    params = scenarios.se_params(("midazolam",))
    return {d: model.simulate(scenarios.treat(d), SE_TIMES, params, method="ode", states=False) for d in (5, 30)}


def test_se_panel_draws_receptors_e_gaba_effect_and_activity(se):
    fig, given = plt.subplots(4, 1)
    axes = pkpd.plot.se_panel(se[5], axes=given, doses=scenarios.treat(5))
    assert list(axes) == list(given) and plt.get_fignums() == [fig.number]
    res = se[5]
    for ax, output in zip(axes, ("GABAA.SURFACE_A235", "CHLORIDE.E_GABA", "BZD.EFFECT", "SEIZURE.ACTIVITY")):
        x, y = _xy(ax.lines[0])
        assert x == pytest.approx(SE_TIMES * 60) and np.array_equal(y, res[output])
        assert _vlines_x(ax) == [pytest.approx(5.0)]                     # the dose; not the onset record
    assert axes[1].get_ylabel() == "E_GABA (mV)"
    assert "fraction of baseline" in axes[0].get_ylabel()
    assert axes[-1].get_xlabel() == "Time after seizure onset (min)"
    thresholds = [float(line.get_ydata()[0]) for line in axes[3].lines[1:] if line.get_linestyle() == ":"
                  and list(line.get_xdata()) == [0, 1]]
    assert thresholds == [0.1]


def test_se_panel_overlays_results_with_a_concentration_panel(se):
    courses = {f"{d} min": se[d] for d in (5, 30)}
    axes = pkpd.plot.se_panel(courses, panels=("concentration", "receptors", "activity"), log_effect=True,
                              doses={f"{d} min": [d] for d in (5, 30)})  # min
    assert len(axes) == 3 and len(axes[0].figure.axes) == 3
    conc = [line for line in axes[0].lines if line.get_linestyle() == "-"]
    assert len(conc) == 2
    assert _xy(conc[1])[1] == pytest.approx(1000 * np.asarray(se[30]["MDZ.CP"]))
    assert axes[0].get_ylabel().startswith("Concentration (ng/mL)") and axes[0].get_yscale() == "log"
    assert _vlines_x(axes[1]) == [pytest.approx(5.0), pytest.approx(30.0)]
    legend = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert legend == ["5 min", "dose", "30 min"]
    # the frame of simulate_patient (time_min) works too
    frame = se[5].to_frame()
    frame.insert(0, "time_min", frame.pop("TIME") * 60)
    axes = pkpd.plot.se_panel(frame, panels=["e_gaba"], time_unit="h")
    assert _xy(axes[0].lines[0])[0] == pytest.approx(SE_TIMES)


def test_se_panel_bad_input(oral, se):
    with pytest.raises(pkpd.ParameterError, match="'GABAA.SURFACE_A235'"):
        pkpd.plot.se_panel(oral)
    with pytest.raises(pkpd.ParameterError, match="unknown panel"):
        pkpd.plot.se_panel(se[5], panels=("receptors", "kcc2"))
    with pytest.raises(pkpd.ParameterError, match="'KET_NMDA.BLOCK'"):
        pkpd.plot.se_panel(se[5], effects=["KET_NMDA.BLOCK"])


# -- ddi --------------------------------------------------------------------------------------------
DDI_TIMES = np.linspace(0, 6 * 24, 6 * 12 + 1)


@pytest.fixture(scope="module")
def interaction():
    mdz, rif = drugs.midazolam().with_route("oral"), drugs.rifampicin()
    model = pkpd.compose(*mdz.components(), *rif.components(), drugs.cyp3a4(inducers=[rif]))
    rifampicin = rif.dose(600, "oral", time=24, ii=24, addl=3)
    res = model.simulate(rifampicin + mdz.dose(15, "oral", ii=24, addl=5), DDI_TIMES, {**mdz.params, **rif.params})
    return res, rifampicin


def test_ddi_draws_victim_and_enzyme_on_twin_axes(interaction):
    res, rifampicin = interaction
    fig, given = _new_ax()
    ax, twin = pkpd.plot.ddi(res, victim="MDZ.CP", enzyme="CYP3A4.LIVER", ax=given, doses=rifampicin)
    assert ax is given and twin is not ax and twin.figure is fig and plt.get_fignums() == [fig.number]
    assert twin.get_shared_x_axes().joined(ax, twin)
    x, y = _xy(ax.lines[0])
    assert x == pytest.approx(DDI_TIMES / 24) and np.array_equal(y, res["MDZ.CP"])
    x, y = _xy(twin.lines[0])
    assert x == pytest.approx(DDI_TIMES / 24) and np.array_equal(y, res["CYP3A4.LIVER"])
    assert float(twin.lines[1].get_ydata()[0]) == 1.0                    # the enzyme baseline
    assert _vlines_x(ax) == pytest.approx([1.0, 2.0, 3.0, 4.0])          # rifampicin doses, days
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Time (d)", "MDZ.CP (mg/L)")
    assert twin.get_ylabel() == "CYP3A4 liver (relative to baseline)"


def test_ddi_prefixes_units_and_bad_input(interaction):
    res, _ = interaction
    ax, twin = pkpd.plot.ddi(res, victim="MDZ", enzyme="CYP3A4", unit="ng/mL", time_unit="h", log=True)
    assert _xy(ax.lines[0])[1] == pytest.approx(1000 * np.asarray(res["MDZ.CP"]))
    assert (ax.get_ylabel(), ax.get_yscale(), ax.get_xlabel()) == ("MDZ.CP (ng/mL)", "log", "Time (h)")
    ax, twin = pkpd.plot.ddi(res, enzyme="CYP3A4.GUT")
    assert _xy(twin.lines[0])[1] == pytest.approx(np.asarray(res["CYP3A4.GUT"]))
    assert twin.get_ylabel().startswith("CYP3A4 gut wall")
    with pytest.raises(pkpd.ParameterError, match="enzyme output 'CYP2C19'"):
        pkpd.plot.ddi(res, victim="MDZ", enzyme="CYP2C19")
    with pytest.raises(pkpd.ParameterError, match="victim output 'CLB'"):
        pkpd.plot.ddi(res, victim="CLB")


# -- endpoints --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trial():
    """A TrialResult built from a per-subject table (the summary statistics are what is plotted)."""
    eps = [types.SimpleNamespace(name="terminated", kind="binary", unit=""),
           types.SimpleNamespace(name="ttt", kind="time", unit="h")]
    design = types.SimpleNamespace(arm_names=["early", "late"], endpoints=eps)
    n = 20
    subjects = pd.DataFrame({
        "ID": np.tile(np.arange(1, n + 1), 2),
        "arm": pd.Categorical(np.repeat(["early", "late"], n), categories=["early", "late"]),
        "terminated": np.r_[np.arange(n) < 17, np.arange(n) < 6],
        "ttt": np.r_[np.linspace(0.2, 1.0, n), np.where(np.arange(n) < 6, 1.5, np.nan)],
    })
    return TrialResult(subjects=subjects, timecourses=pd.DataFrame(), design=design)


def test_endpoints_draws_estimates_and_confidence_intervals(trial):
    fig, given = _new_ax()
    ax = pkpd.plot.endpoints(trial, "terminated", ax=given, ci=0.9)
    assert ax is given and plt.get_fignums() == [fig.number]
    s = trial.summarize(0.9).query("endpoint == 'terminated'").set_index("arm")
    intervals = [line for line in ax.lines if len(line.get_xdata()) == 2]
    points = [line for line in ax.lines if line.get_marker() == "o"]
    for k, arm in enumerate(["early", "late"]):
        assert _xy(intervals[k])[0].tolist() == [k, k]
        assert _xy(intervals[k])[1] == pytest.approx(100 * s.loc[arm, ["lower", "upper"]].to_numpy(dtype=float))
        assert _xy(points[k])[1] == pytest.approx([100 * s.loc[arm, "estimate"]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["early", "late"]
    assert ax.get_ylabel() == "terminated (% of subjects)"
    assert "90 % CI" in ax.get_title()


def test_endpoints_medians_not_reached_and_bad_input(trial):
    ax = pkpd.plot.endpoints(trial, "ttt", statistic="median")
    s = trial.summarize().query("endpoint == 'ttt' and statistic == 'median'").set_index("arm")
    assert np.isinf(s.loc["late", "estimate"])
    points = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(points) == 1 and _xy(points[0])[1] == pytest.approx([s.loc["early", "estimate"]])
    assert ax.get_ylabel() == "ttt, median (h)"
    assert any(t.get_text() == "not reached" for t in ax.texts)
    assert pkpd.plot.endpoints(trial, "ttt").get_ylabel() == "ttt (% of subjects)"    # time endpoint: events
    with pytest.raises(pkpd.ParameterError, match="'seizure_free'.*terminated"):
        pkpd.plot.endpoints(trial, "seizure_free")
    with pytest.raises(pkpd.ParameterError, match="'median'"):
        pkpd.plot.endpoints(trial, "terminated", statistic="median")


def test_plot_exports():
    assert set(pkpd.plot.__all__) == {"profile", "spaghetti", "individual_fits", "gof", "vpc", "eta_covariates",
                                      "eta_distributions", "se_panel", "ddi", "ribbon", "endpoints"}
    for name in pkpd.plot.__all__:
        doc = getattr(pkpd.plot, name).__doc__
        assert "Examples" in doc and "Returns" in doc and "plt.show" not in doc
