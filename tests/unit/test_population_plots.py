"""pkpd.plot.gof and pkpd.plot.vpc: the data drawn are the diagnostics and the VPC table; Axes are reused;
nothing is shown (Agg backend)."""

import types
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import pkpd  # noqa: E402
from pkpd.models import OneCompartment  # noqa: E402


@pytest.fixture(autouse=True)
def no_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("plt.show() called")

    monkeypatch.setattr(plt, "show", fail)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fit():
    pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1}, pkpd.ProportionalError(0.1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # high shrinkage on 6 subjects
        return pkpd.fit_population(pm, pkpd.load_dataset("indometacin"), covariance=False, progress=False)


@pytest.fixture(scope="module")
def result(fit):
    ev = pkpd.load_dataset("indometacin").events
    ev["LLOQ"] = 0.1
    return pkpd.vpc(fit, pkpd.read_nonmem(ev), n_sim=50, seed=1, bins=5)


def test_gof_draws_the_diagnostics(fit):
    axes = pkpd.plot.gof(fit)
    assert axes.shape == (4,)
    d = fit.diagnostics
    pairs = [("PRED", "DV"), ("IPRED", "DV"), ("TIME", "CWRES"), ("PRED", "CWRES")]
    for ax, (x, y) in zip(axes, pairs):
        offsets = ax.collections[0].get_offsets()
        assert np.asarray(offsets) == pytest.approx(d[[x, y]].to_numpy())
    for ax in axes[:2]:                                            # identity lines
        line = ax.lines[0]
        assert np.array_equal(line.get_xdata(), line.get_ydata())
    for ax in axes[2:]:                                            # zero lines
        assert list(ax.lines[0].get_ydata()) == [0, 0]
    assert [ax.get_ylabel() for ax in axes] == ["Observed (mg/L)", "Observed (mg/L)", "CWRES", "CWRES"]
    assert axes[2].get_xlabel() == "Time (h)"


def test_gof_reuses_axes_and_leaves_out_blq_records(fit):
    fig, given = plt.subplots(2, 2)
    axes = pkpd.plot.gof(fit, axes=given)
    assert list(axes) == list(given.ravel())
    assert all(ax.figure is fig for ax in axes)
    # a fit whose diagnostics have BLQ records: they are not drawn
    d = fit.diagnostics.copy()
    d.loc[[0, 5], "BLQ"] = 1
    d.loc[[0, 5], ["CWRES", "IWRES", "WRES", "RES"]] = np.nan
    fake = types.SimpleNamespace(diagnostics=d, popmodel=fit.popmodel)
    axes = pkpd.plot.gof(fake)
    assert len(axes[0].collections[0].get_offsets()) == len(d) - 2
    with pytest.raises(pkpd.ParameterError, match="4 Axes"):
        pkpd.plot.gof(fit, axes=given[0])
    with pytest.raises(pkpd.ParameterError, match="diagnostics"):
        pkpd.plot.gof(object())


def test_vpc_plot_draws_the_table(result):
    ax = pkpd.plot.vpc(result)
    table = result.table
    lines = {line.get_label(): line for line in ax.lines}
    for p, name in ((5, "5th"), (50, "50th"), (95, "95th")):
        line = lines[f"observed {name} percentile"]
        assert np.asarray(line.get_xdata()) == pytest.approx(table["time_median"].to_numpy())
        np.testing.assert_array_equal(np.asarray(line.get_ydata(), dtype=float), table[f"p{p}_observed"].to_numpy())
    assert np.asarray(lines["LLOQ"].get_ydata()) == pytest.approx(table["lloq"].to_numpy())
    bands = {c.get_label(): c for c in ax.collections}
    band = bands["simulated 95 % CI of the 50th percentile"]
    y = band.get_paths()[0].vertices[:, 1]
    assert y.min() == pytest.approx(np.nanmin(table["p50_sim_lower"]))
    assert y.max() == pytest.approx(np.nanmax(table["p50_sim_upper"]))
    points = bands["observations"].get_offsets()
    shown = result.observed.loc[result.observed["BLQ"] == 0, ["TIME", "DV"]].to_numpy()
    assert np.asarray(points) == pytest.approx(shown)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Time (h)", "Concentration (mg/L)")


def test_vpc_plot_reuses_the_axes_and_labels_a_pcvpc(fit, result):
    fig, ax = plt.subplots()
    assert pkpd.plot.vpc(result, ax=ax) is ax
    assert result.plot(ax=ax) is ax
    assert len(fig.axes) == 1
    pc = pkpd.vpc(fit, pkpd.load_dataset("indometacin"), n_sim=20, seed=1, bins=3, prediction_corrected=True)
    ax = pkpd.plot.vpc(pc, log=True, points=False)
    assert ax.get_ylabel() == "Prediction-corrected concentration (mg/L)" and ax.get_yscale() == "log"
    assert not [c for c in ax.collections if c.get_label() == "observations"]


def test_stratified_vpc_plot_needs_a_stratum(fit):
    ev = pkpd.load_dataset("indometacin").events
    ev["GRP"] = np.where(ev["ID"] <= 3, "A", "B")
    strat = pkpd.vpc(fit, pkpd.read_nonmem(ev), n_sim=20, seed=1, bins=3, stratify="GRP")
    with pytest.raises(pkpd.ParameterError, match="stratum"):
        pkpd.plot.vpc(strat)
    ax = pkpd.plot.vpc(strat, stratum="B")
    line = next(line for line in ax.lines if line.get_label() == "observed 50th percentile")
    expected = strat.table.loc[strat.table["GRP"] == "B", "p50_observed"].to_numpy()
    assert np.asarray(line.get_ydata()) == pytest.approx(expected)
    assert ax.get_title() == "GRP = B"


def test_individual_fits_of_a_population_fit_draw_dv_ipred_and_pred(fit):
    """Issue 18: ``individual_fits(popfit)`` raised; it now draws, per subject, DV, IPRED and PRED at the
    observation times (the fit's diagnostics table)."""
    axes = pkpd.plot.individual_fits(fit, ncols=3)
    table = fit.diagnostics
    ids = list(dict.fromkeys(table["ID"]))
    assert len(axes) == len(ids) and axes[0].get_title() == f"ID {ids[0]}"
    for ax, sid in zip(axes, ids):
        rows = table[table["ID"] == sid].sort_values("TIME", kind="stable")
        ipred, pred, dv = ax.lines[:3]
        assert (ipred.get_label(), pred.get_label(), dv.get_label()) == ("IPRED (individual)", "PRED (population)",
                                                                         "DV")
        np.testing.assert_array_equal(ipred.get_xdata(), rows["TIME"].to_numpy(float))
        np.testing.assert_array_equal(ipred.get_ydata(), rows["IPRED"].to_numpy(float))
        np.testing.assert_array_equal(pred.get_ydata(), rows["PRED"].to_numpy(float))
        np.testing.assert_array_equal(dv.get_ydata(), rows["DV"].to_numpy(float))
    plt.close("all")


def test_eta_plots_draw_the_ebes_against_covariates_and_their_distribution(fit):
    """Issue 18: eta-vs-covariate panels (EBE per subject against the subject's covariate) and EBE histograms
    with the model's N(0, omega) and a normal QQ plot."""
    etas = fit.etas
    axes = pkpd.plot.eta_covariates(fit, covariates=["ID"])
    assert axes.shape == (1, 1) and axes[0, 0].get_ylabel() == "ETA_CL"
    points = axes[0, 0].lines[0]
    np.testing.assert_array_equal(points.get_xdata(), etas["ID"].to_numpy(float))
    np.testing.assert_array_equal(points.get_ydata(), etas["ETA_CL"].to_numpy(float))
    with pytest.raises(pkpd.ParameterError, match="no covariate column \\['WT'\\]"):
        pkpd.plot.eta_covariates(fit, covariates=["WT"])
    hist, qq = pkpd.plot.eta_distributions(fit)[0]
    sd = float(np.sqrt(fit.omega.loc["CL", "CL"]))
    density = hist.lines[0]
    peak = float(np.max(density.get_ydata()))
    assert peak == pytest.approx(1 / (sd * np.sqrt(2 * np.pi)), rel=1e-3)      # N(0, omega) at its mode
    ebes = qq.lines[0]
    np.testing.assert_array_equal(ebes.get_ydata(), np.sort(etas["ETA_CL"].to_numpy(float)))
    assert len(etas) == 6                                  # indometacin; Hazen positions (k - 0.5) / 6
    assert ebes.get_xdata()[-1] == pytest.approx(1.3829941271, rel=1e-9) == -ebes.get_xdata()[0]
    plt.close("all")
