"""Issue 18, item 5: in pkpd.plot, ``label=`` and matplotlib keywords pass through to each function's main artist
(overriding its defaults, aliases such as ``lw`` and ``c`` included), and every function whose x axis is time
takes ``time_unit`` (data in hours, converted for display, the unit named in the axis label; plain dose times
given to the function are in its ``time_unit``).

Small hand-made inputs (frames and stand-ins with the attributes the functions read) keep these fast; the
drawing of real results is tested in test_plots.py and test_population_plots.py. Agg backend, nothing shown.
"""

import inspect
import types
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

import pkpd  # noqa: E402
from pkpd.models import OneCompartment  # noqa: E402
from pkpd.plot._common import artist_kw  # noqa: E402
from pkpd.trials import TrialResult  # noqa: E402

RED = to_rgba("red")


@pytest.fixture(autouse=True)
def no_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("plt.show() called")

    monkeypatch.setattr(plt, "show", fail)
    plt.close("all")
    yield
    plt.close("all")


def _x(artist):
    return np.asarray(artist.get_xdata(), dtype=float)


def _offsets(collection):
    return np.asarray(collection.get_offsets(), dtype=float)


def _vlines_x(ax):
    return sorted(float(line.get_xdata()[0]) for line in ax.lines
                  if line.get_linestyle() == ":" and line.get_xdata()[0] == line.get_xdata()[1]
                  and list(line.get_ydata()) == [0, 1])


# -- the signatures ----------------------------------------------------------------------------------
TIME_AXIS = {"profile", "spaghetti", "individual_fits", "gof", "vpc", "se_panel", "ddi", "ribbon"}
NOT_TIME = {"endpoints", "eta_covariates", "eta_distributions"}          # arms, covariates, EBEs on x


def test_every_time_axis_takes_a_time_unit_and_every_function_passes_keywords_through():
    assert TIME_AXIS | NOT_TIME == set(pkpd.plot.__all__)
    for name in pkpd.plot.__all__:
        params = inspect.signature(getattr(pkpd.plot, name)).parameters
        if name in TIME_AXIS:
            assert params["time_unit"].kind is inspect.Parameter.KEYWORD_ONLY, name
        else:
            assert "time_unit" not in params, name
        var_kw = [p for p in params.values() if p.kind is inspect.Parameter.VAR_KEYWORD]
        assert len(var_kw) == 1, name
        assert var_kw[0].name == "plot_kw", name
        assert "**plot_kw" in getattr(pkpd.plot, name).__doc__, name


def test_artist_kw_normalises_aliases_so_the_callers_keywords_replace_the_defaults():
    assert artist_kw({"linewidth": 2, "color": "C0", "label": "x"}, {"lw": 3, "c": "red"}) == \
        {"linewidth": 3, "color": "red", "label": "x"}
    # scatter: c (or facecolor) replaces a default color rather than clashing with it
    assert artist_kw({"s": 8, "color": "0.5"}, {"c": "red"}, "collection") == {"s": 8, "c": "red"}
    assert artist_kw({"color": "C0", "alpha": 0.6}, {"fc": "red"}, "patch") == {"alpha": 0.6, "facecolor": "red"}
    assert artist_kw({"color": "C0"}, {}) == {"color": "C0"}


# -- profile (pkpd/plot/_profiles.py) -------------------------------------------------
@pytest.fixture(scope="module")
def course():
    times = np.linspace(0, 12, 13)
    return OneCompartment().simulate(pkpd.Bolus(100), times, {"CL": 5.0, "V": 50.0}), times


def test_profile_keywords_and_time_unit(course):
    res, times = course
    ax = pkpd.plot.profile(res, label="mine", color="red", lw=3, time_unit="min", doses=[0.0])
    line = ax.get_lines()[0]
    assert (line.get_label(), to_rgba(line.get_color()), line.get_linewidth()) == ("mine", RED, 3)
    assert _x(line) == pytest.approx(60 * times) and ax.get_xlabel() == "Time (min)"


# -- ribbon -----------------------------------------------------------------------------------------
RIBBON_TIMES = np.array([0.0, 0.5, 1.0, 2.0])


@pytest.fixture(scope="module")
def trial_courses():
    """A stand-in TrialResult with the quantiles ribbon reads (two arms, times in h)."""
    def quantiles(output, q):
        frames = []
        for k, arm in enumerate(["early", "late"]):
            f = pd.DataFrame({f"Q{100 * p:g}": (k + 1) * (1 + p) * RIBBON_TIMES for p in q})
            f.insert(0, "TIME", RIBBON_TIMES)
            f.insert(0, "arm", arm)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    return types.SimpleNamespace(timecourses=pd.DataFrame({"output": ["X", "X"]}), arms=["early", "late"],
                                 n_subjects=10, quantiles=quantiles)


def test_ribbon_keywords_reach_the_median_lines(trial_courses):
    ax = pkpd.plot.ribbon(trial_courses, label="mine", color="red", lw=3, alpha=0.1)
    assert len(ax.get_lines()) == 2
    for line, band in zip(ax.get_lines(), ax.collections):
        assert (line.get_label(), to_rgba(line.get_color()), line.get_linewidth()) == ("mine", RED, 3)
        assert to_rgba(band.get_facecolor()[0])[:3] == RED[:3] and band.get_alpha() == 0.1   # the ribbon follows
    ax = pkpd.plot.ribbon(trial_courses)                                 # defaults unchanged
    assert [line.get_label() for line in ax.get_lines()] == ["early (median)", "late (median)"]


def test_ribbon_time_unit(trial_courses):
    ax = pkpd.plot.ribbon(trial_courses, time_unit="min")
    assert _x(ax.get_lines()[0]) == pytest.approx(60 * RIBBON_TIMES) and ax.get_xlabel() == "time (min)"
    ax = pkpd.plot.ribbon(trial_courses, time_unit="d")                  # any time unit, not only h and min
    assert _x(ax.get_lines()[1]) == pytest.approx(RIBBON_TIMES / 24) and ax.get_xlabel() == "time (d)"
    with pytest.raises(ValueError, match="'kg'"):
        pkpd.plot.ribbon(trial_courses, time_unit="kg")


# -- endpoints (arms on x: keywords only) -----------------------------------------------------------
@pytest.fixture(scope="module")
def trial():
    eps = [types.SimpleNamespace(name="terminated", kind="binary", unit="")]
    design = types.SimpleNamespace(arm_names=["early", "late"], endpoints=eps)
    subjects = pd.DataFrame({"ID": np.tile(np.arange(1, 11), 2),
                             "arm": pd.Categorical(np.repeat(["early", "late"], 10), categories=["early", "late"]),
                             "terminated": np.r_[np.arange(10) < 8, np.arange(10) < 3]})
    return TrialResult(subjects=subjects, timecourses=pd.DataFrame(), design=design)


def test_endpoints_keywords_reach_the_estimates(trial):
    ax = pkpd.plot.endpoints(trial, "terminated", label="mine", color="red", marker="s", ms=5)
    estimates = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    intervals = [line for line in ax.get_lines() if len(line.get_xdata()) == 2]
    assert len(estimates) == 2 and len(intervals) == 2
    assert [line.get_label() for line in estimates][0] == "mine"
    assert all(line.get_marker() == "s" and line.get_markersize() == 5 and to_rgba(line.get_color()) == RED
               for line in estimates)
    assert all(to_rgba(line.get_color()) == RED for line in intervals)  # color stays the named parameter
    assert "mine" in [t.get_text() for t in ax.get_legend().get_texts()]


# -- ddi --------------------------------------------------------------------------------------------
DDI_TIMES = np.linspace(0, 48, 9)


@pytest.fixture(scope="module")
def interaction():
    return pd.DataFrame({"TIME": DDI_TIMES, "MDZ.CP": np.exp(-DDI_TIMES / 10), "CYP3A4.LIVER": 1 + DDI_TIMES / 48})


def test_ddi_keywords_reach_the_victim_line(interaction):
    ax, twin = pkpd.plot.ddi(interaction, label="mine", color="red", lw=3)
    line = ax.get_lines()[0]
    assert (line.get_label(), to_rgba(line.get_color()), line.get_linewidth()) == ("mine", RED, 3)
    assert to_rgba(ax.yaxis.label.get_color()) == RED                    # the axis label follows the line
    assert twin.get_lines()[0].get_label() == "CYP3A4 liver"              # the enzyme keeps its defaults
    assert "mine" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_ddi_time_unit_and_doses_in_it(interaction):
    ax, twin = pkpd.plot.ddi(interaction, time_unit="min", doses=[60.0, 120.0])     # dose times in min
    assert _x(ax.get_lines()[0]) == pytest.approx(60 * DDI_TIMES)
    assert _x(twin.get_lines()[0]) == pytest.approx(60 * DDI_TIMES)
    assert ax.get_xlabel() == "Time (min)" and _vlines_x(ax) == [60.0, 120.0]


# -- individual_fits --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fits():
    events = pkpd.load_dataset("indometacin").events
    return pkpd.estimation.fit_each(OneCompartment(), events[events["ID"] <= 2])


@pytest.fixture(scope="module")
def popfit():
    """A stand-in population fit: the diagnostics, EBEs, omega and data the plots read."""
    diag = pd.DataFrame({"ID": [1, 1, 1, 2, 2, 2], "TIME": [0.5, 1.0, 2.0] * 2,
                         "DV": [2.0, 1.5, 1.0, 2.2, 1.4, 0.8], "PRED": [1.9, 1.4, 0.9, 1.9, 1.4, 0.9],
                         "IPRED": [2.0, 1.5, 1.0, 2.1, 1.4, 0.8], "CWRES": [0.1, -0.2, 0.3, -0.1, 0.0, 0.2],
                         "BLQ": 0})
    etas = pd.DataFrame({"ID": [1, 2, 3, 4], "ETA_CL": [-0.2, 0.1, 0.05, 0.3]})
    events = pd.DataFrame({"ID": [1, 2, 3, 4], "TIME": 0.0, "WT": [60.0, 70.0, 80.0, 90.0]})
    return types.SimpleNamespace(diagnostics=diag, etas=etas, popmodel=None,
                                 omega=pd.DataFrame([[0.04]], index=["CL"], columns=["CL"]),
                                 data=types.SimpleNamespace(events=events, covariates=["WT"]))


def test_individual_fits_keywords_reach_the_fitted_curves(fits, popfit):
    axes = pkpd.plot.individual_fits(fits, label="mine", color="red", ls="--")
    for ax in axes:
        curve, observed = ax.get_lines()[:2]
        assert (curve.get_label(), to_rgba(curve.get_color()), curve.get_linestyle()) == ("mine", RED, "--")
        assert observed.get_label() == "observed" and to_rgba(observed.get_color()) == to_rgba("k")
    axes = pkpd.plot.individual_fits(popfit, label="mine", color="red")    # a population fit: the IPRED line
    ipred, pred = axes[0].get_lines()[:2]
    assert (ipred.get_label(), to_rgba(ipred.get_color()), ipred.get_linestyle()) == ("mine", RED, "-")
    assert pred.get_label() == "PRED (population)"


def test_individual_fits_time_unit(fits, popfit):
    hours = pkpd.plot.individual_fits(fits)
    minutes = pkpd.plot.individual_fits(fits, time_unit="min")
    for h, m in zip(hours, minutes):
        for line_h, line_m in zip(h.get_lines(), m.get_lines()):
            assert _x(line_m) == pytest.approx(60 * _x(line_h))
    assert [ax.get_xlabel() for ax in minutes] == ["Time (min)", "Time (min)"]
    axes = pkpd.plot.individual_fits(popfit, time_unit="min")
    assert _x(axes[0].get_lines()[0]) == pytest.approx([30.0, 60.0, 120.0])
    assert axes[0].get_xlabel() == "Time (min)"


# -- se_panel ---------------------------------------------------------------------------------------
SE_HOURS = np.array([0.0, 0.25, 0.5, 1.0])


@pytest.fixture(scope="module")
def se_course():
    return pd.DataFrame({"TIME": SE_HOURS, "GABAA.SURFACE_A235": [1.0, 0.8, 0.6, 0.5],
                         "CHLORIDE.E_GABA": [-75.0, -65.0, -60.0, -58.0], "BZD.EFFECT": [0.0, 0.5, 0.4, 0.3],
                         "SEIZURE.ACTIVITY": [1.0, 0.8, 0.5, 0.2]})


def test_se_panel_keywords_reach_the_data_lines(se_course):
    axes = pkpd.plot.se_panel(se_course, label="mine", color="red", lw=3, doses=[15.0])
    first = axes[0].get_lines()[0]
    assert (first.get_label(), to_rgba(first.get_color()), first.get_linewidth()) == ("mine", RED, 3)
    for ax in axes:                                                      # every panel's data line
        line = ax.get_lines()[0]
        assert to_rgba(line.get_color()) == RED and line.get_linewidth() == 3
    reference = [line for line in axes[1].get_lines() if line.get_linestyle() in (":", "--")
                 and list(line.get_xdata()) == [0, 1]]                   # the E_GABA reference lines keep theirs
    assert reference and all(to_rgba(line.get_color()) == to_rgba("grey") for line in reference)
    assert [t.get_text() for t in axes[0].get_legend().get_texts()][0] == "mine"
    with pytest.raises(pkpd.ParameterError, match="label"):
        pkpd.plot.se_panel({"a": se_course}, label="mine")


def test_se_panel_time_unit(se_course):
    axes = pkpd.plot.se_panel(se_course, panels=["receptors"], time_unit="min")
    assert _x(axes[0].get_lines()[0]) == pytest.approx(60 * SE_HOURS)
    assert axes[0].get_xlabel() == "Time after seizure onset (min)"
    axes = pkpd.plot.se_panel(se_course, panels=["receptors"], time_unit="h", doses=[0.5])     # doses in h
    assert _x(axes[0].get_lines()[0]) == pytest.approx(SE_HOURS) and _vlines_x(axes[0]) == [0.5]


# -- gof --------------------------------------------------------------------------------------------
def test_gof_keywords_reach_the_observations(popfit):
    axes = pkpd.plot.gof(popfit, label="mine", color="red", marker="s", s=30)
    for ax in axes:
        points = ax.collections[0]
        assert points.get_label() == "mine" and tuple(points.get_facecolor()[0]) == (1.0, 0.0, 0.0, 0.6)
        assert list(points.get_sizes()) == [30]
    axes = pkpd.plot.gof(popfit, c="red", alpha=0.3)                     # c replaces the default colour
    assert tuple(axes[0].collections[0].get_facecolor()[0]) == (1.0, 0.0, 0.0, 0.3)


def test_gof_time_unit(popfit):
    axes = pkpd.plot.gof(popfit, time_unit="min")
    d = popfit.diagnostics
    assert _offsets(axes[2].collections[0])[:, 0] == pytest.approx(60 * d["TIME"].to_numpy())
    assert _offsets(axes[3].collections[0])[:, 0] == pytest.approx(d["PRED"].to_numpy())   # not a time axis
    assert axes[2].get_xlabel() == "Time (min)" and pkpd.plot.gof(popfit)[2].get_xlabel() == "Time (h)"


# -- vpc --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vpc_result():
    pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.5, "V": 20.0}, {"CL": 0.05}, pkpd.ProportionalError(0.45))
    return pkpd.vpc(pm, pkpd.load_dataset("indometacin"), n_sim=20, seed=1, bins=3)


def test_vpc_keywords_reach_the_observations(vpc_result):
    ax = pkpd.plot.vpc(vpc_result, label="mine", color="red", marker="x", s=20)
    points = ax.collections[0]
    assert points.get_label() == "mine" and list(points.get_sizes()) == [20]
    assert to_rgba(points.get_edgecolor()[0])[:3] == RED[:3]              # an unfilled marker: its edge
    assert "mine" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert pkpd.plot.vpc(vpc_result, points=False, color="red").collections    # unused without points


def test_vpc_time_unit(vpc_result):
    ax = pkpd.plot.vpc(vpc_result, time_unit="min")
    shown = vpc_result.observed.loc[vpc_result.observed["BLQ"] == 0, "TIME"].to_numpy()
    assert _offsets(ax.collections[0])[:, 0] == pytest.approx(60 * shown)
    median = next(line for line in ax.get_lines() if line.get_label() == "observed 50th percentile")
    assert _x(median) == pytest.approx(60 * vpc_result.table["time_median"].to_numpy())
    assert ax.get_xlabel() == "Time (min)"


# -- eta_covariates, eta_distributions (covariates and EBEs on x: keywords only) ----------------------
def test_eta_covariates_keywords_reach_the_estimates(popfit):
    axes = pkpd.plot.eta_covariates(popfit, label="mine", color="red", marker="s")
    points = axes[0, 0].get_lines()[0]
    assert (points.get_label(), to_rgba(points.get_color()), points.get_marker()) == ("mine", RED, "s")
    assert points.get_linestyle() == "None"
    assert _x(points) == pytest.approx([60.0, 70.0, 80.0, 90.0])
    assert pkpd.plot.eta_covariates(popfit)[0, 0].get_lines()[0].get_marker() == "o"      # default


def test_eta_distributions_keywords_reach_the_histograms(popfit):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (hist, qq), = pkpd.plot.eta_distributions(popfit, label="mine", color="red", alpha=0.3, bins=3)
    bars = hist.patches
    assert len(bars) == 3 and bars[0].get_label() == "mine"
    assert to_rgba(bars[0].get_facecolor()) == (1.0, 0.0, 0.0, 0.3)
    assert to_rgba(qq.get_lines()[0].get_color()) == RED                 # the QQ points take the colour
    assert "mine" in [t.get_text() for t in hist.get_legend().get_texts()]


def test_spaghetti_passes_keywords_to_the_median_line():
    import numpy as np
    import pandas as pd
    from matplotlib.colors import to_rgba
    from pkpd.models import OneCompartment

    params = pd.DataFrame({"ID": [1, 2, 3, 4], "CL": [4.0, 5.0, 6.0, 7.0], "V": 50.0})
    res = OneCompartment().simulate(pkpd.Bolus(100), np.linspace(0, 24, 25), params)
    ax = pkpd.plot.spaghetti(res, "CP", label="mine", color="red", lw=3)
    median = ax.get_lines()[-1]
    assert median.get_label() == "mine" and median.get_linewidth() == 3
    assert to_rgba(median.get_color()) == to_rgba("red")
    assert tuple(ax.collections[0].get_facecolor()[0][:3]) == to_rgba("red")[:3]
