"""pkpd.vpc: the table against hand computations from the same simulated replicates (plain, prediction-
corrected, censored below the LLOQ, stratified), binning, inside_bands, and bad arguments."""

import importlib
import math

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.models import OneCompartment
from pkpd.population import PopulationModel, VPCResult

vpc_module = importlib.import_module("pkpd.estimation.vpc")

PM = PopulationModel(OneCompartment(), {"CL": 8.5, "V": 20.0}, {"CL": 0.05, "V": 0.1}, pkpd.ProportionalError(0.3))


@pytest.fixture(scope="module")
def indometacin():
    """Indometacin (6 subjects, 11 samples each) with a dose-group covariate (doses 25 and 50 mg) for strata
    and prediction correction."""
    ev = pkpd.load_dataset("indometacin").events
    ev["GRP"] = np.where(ev["ID"] % 2 == 0, "high", "low")
    ev.loc[(ev["EVID"] == 1) & (ev["GRP"] == "high"), "AMT"] *= 2
    ev.loc[(ev["EVID"] == 0) & (ev["GRP"] == "high"), "DV"] *= 2
    return pkpd.read_nonmem(ev)


def _replicates(data, k, seed):
    sim = PM.simulate(data, k, seed=seed)
    n = int(data.is_observation.sum())
    return sim["DV"].to_numpy().reshape(k, n), sim["PRED"].to_numpy()[:n]


def _expected(values, sims, percentiles=(5, 50, 95), ci=95):
    """Observed percentiles and (median, lower, upper) of the simulated ones over the replicates."""
    z = (100 - ci) / 2
    obs = np.percentile(values, percentiles)
    per_rep = np.percentile(sims, percentiles, axis=1)
    return obs, np.percentile(per_rep, [50, z, 100 - z], axis=1)


def test_table_equals_the_hand_computation(indometacin):
    """Explicit bins: per bin, the observed percentiles and the median / 2.5th / 97.5th percentiles over the
    replicates of the simulated percentiles, from the same replicates (PopulationModel.simulate, same seed)."""
    edges = [0, 1, 3, 8]
    result = pkpd.vpc(PM, indometacin, n_sim=50, seed=4, bins=edges)
    sims, _ = _replicates(indometacin, 50, 4)
    obs = indometacin.observations
    t, y = obs["TIME"].to_numpy(), obs["DV"].to_numpy()
    table = result.table
    assert list(table["bin"]) == [0, 1, 2]
    assert list(table["time_lower"]) == [0, 1, 3] and list(table["time_upper"]) == [1, 3, 8]
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        cols = (t >= lo) & ((t < hi) if b < 2 else (t <= hi))
        row = table.iloc[b]
        assert row["n_obs"] == cols.sum() and row["time_median"] == np.median(t[cols])
        o, (med, low, up) = _expected(y[cols], sims[:, cols])
        for j, p in enumerate(("p5", "p50", "p95")):
            assert row[f"{p}_observed"] == pytest.approx(o[j], rel=1e-12)
            assert row[f"{p}_sim_median"] == pytest.approx(med[j], rel=1e-12)
            assert row[f"{p}_sim_lower"] == pytest.approx(low[j], rel=1e-12)
            assert row[f"{p}_sim_upper"] == pytest.approx(up[j], rel=1e-12)
    assert list(result.observed.columns) == ["ID", "TIME", "DV", "BLQ", "bin"]
    assert result.observed["DV"].to_numpy() == pytest.approx(y)
    assert not result.has_lloq and "blq_observed" not in table
    assert (result.output, result.unit, result.value_column) == ("CP", "mg/L", "DV")


def test_prediction_correction_by_hand(indometacin):
    """pcDV = DV * median(PRED in bin) / PRED (Bergstrand 2011), the simulated values alike; the two dose
    groups' doubled concentrations are brought together."""
    result = pkpd.vpc(PM, indometacin, n_sim=40, seed=8, bins=[0, 1, 3, 8], percentiles=(10, 50, 90), ci=80,
                      prediction_corrected=True)
    sims, pred = _replicates(indometacin, 40, 8)
    obs = indometacin.observations
    t, y = obs["TIME"].to_numpy(), obs["DV"].to_numpy()
    cols = (t >= 1) & (t < 3)
    factor = np.median(pred[cols]) / pred[cols]
    o, (med, low, up) = _expected(y[cols] * factor, sims[:, cols] * factor, (10, 50, 90), 80)
    row = result.table.iloc[1]
    assert [row["p10_observed"], row["p50_observed"], row["p90_observed"]] == pytest.approx(o, rel=1e-12)
    assert [row["p10_sim_lower"], row["p50_sim_median"], row["p90_sim_upper"]] == pytest.approx(
        [low[0], med[1], up[2]], rel=1e-12)
    assert result.value_column == "pcDV" and "pcDV" in result.observed
    assert result.observed.loc[cols, "pcDV"].to_numpy() == pytest.approx(y[cols] * factor)


def test_censoring_below_the_lloq(indometacin):
    """LLOQ 0.15 mg/L: BLQ observations and simulated values below it are censored; a percentile below the
    LLOQ is NaN; the fractions BLQ are the observed one and the median / 95 % interval of the simulated ones."""
    ev = indometacin.events
    ev["LLOQ"] = 0.15
    data = pkpd.read_nonmem(ev)
    result = pkpd.vpc(PM, data, n_sim=60, seed=2, bins=[0, 2, 8])
    sims, _ = _replicates(data, 60, 2)
    obs = data.observations
    t, y = obs["TIME"].to_numpy(), obs["DV"].to_numpy()
    late = t >= 2
    row = result.table.iloc[1]
    assert row["lloq"] == 0.15 and row["n_blq"] == (y[late] < 0.15).sum() > 5
    assert row["blq_observed"] == pytest.approx((y[late] < 0.15).mean())
    frac = (sims[:, late] < 0.15).mean(axis=1)
    assert [row["blq_sim_lower"], row["blq_sim_median"], row["blq_sim_upper"]] == pytest.approx(
        np.percentile(frac, [2.5, 50, 97.5]))
    assert math.isnan(row["p5_observed"]) and row["p95_observed"] == pytest.approx(np.percentile(y[late], 95))
    assert math.isnan(row["p5_sim_median"]) and math.isnan(row["p5_sim_lower"])
    censored = np.where(sims[:, late] < 0.15, -np.inf, sims[:, late])
    upper95 = np.percentile(np.percentile(np.where(np.isinf(censored), -1e300, censored), 95, axis=1), 97.5)
    assert row["p95_sim_upper"] == pytest.approx(upper95)
    assert result.observed["BLQ"].sum() == (y < 0.15).sum()
    # no LLOQ in the data: the lloq argument
    with_arg = pkpd.vpc(PM, indometacin, n_sim=60, seed=2, bins=[0, 2, 8], lloq=0.15)
    pd.testing.assert_frame_equal(with_arg.table, result.table)


def test_stratified_vpc_has_its_own_bins_per_stratum(indometacin):
    result = pkpd.vpc(PM, indometacin, n_sim=20, seed=1, bins=3, stratify="GRP")
    table = result.table
    assert list(table.columns[:2]) == ["GRP", "bin"]
    assert sorted(table["GRP"].unique()) == ["high", "low"]
    assert table.groupby("GRP")["n_obs"].sum().to_dict() == {"high": 33, "low": 33}
    assert set(result.observed["GRP"]) == {"high", "low"}
    inside = result.inside_bands()
    assert list(inside.columns) == ["GRP", "bin", "time_median", "p5", "p50", "p95"]
    assert "by GRP" in repr(result)


def test_equal_count_bins_keep_ties_together():
    # a nominal design with at most n_bins distinct times: one bin per time
    times = np.repeat([0.5, 1, 2, 4, 8], 10)
    edges = vpc_module._equal_count_edges(times, 8)
    assert edges.tolist() == [0.5, 0.75, 1.5, 3.0, 6.0, 8.0]
    assert np.bincount(vpc_module._assign(times, edges)).tolist() == [10] * 5
    # distinct times: about equal counts
    times = np.arange(100.0)
    edges = vpc_module._equal_count_edges(times, 4)
    assert np.bincount(vpc_module._assign(times, edges)).tolist() == [25] * 4
    # ties are never split
    times = np.array([1, 1, 1, 1, 1, 1, 2, 3, 4, 5.0])
    index = vpc_module._assign(times, vpc_module._equal_count_edges(times, 3))
    assert len(set(index[:6])) == 1
    # explicit edges: [lower, upper), the last closed, outside -1
    assert vpc_module._assign(np.array([-1, 0, 1, 2, 3, 4.0]), np.array([0, 2, 3.0])).tolist() == [-1, 0, 0, 1, 1, -1]


def test_observations_outside_explicit_edges_are_left_out_with_a_warning(indometacin):
    with pytest.warns(RuntimeWarning, match="outside the bin edges"):
        result = pkpd.vpc(PM, indometacin, n_sim=10, seed=1, bins=[1, 4])
    assert result.table["n_obs"].sum() == len(result.observed) == 30          # 1, 1.25, 2, 3, 4 h x 6


def test_inside_bands_treats_censored_percentiles_as_below_the_lloq():
    table = pd.DataFrame({"bin": [0, 1, 2, 3], "time_median": [1.0, 2, 3, 4],
                          "p50_observed": [np.nan, np.nan, 2.0, 2.0],
                          "p50_sim_median": [1.0, np.nan, 2.0, 2.0],
                          "p50_sim_lower": [0.5, np.nan, np.nan, 1.0],
                          "p50_sim_upper": [2.0, np.nan, np.nan, 1.5],
                          "lloq": 0.3, "n_blq": 1, "blq_observed": [0.1, 0.5, 0.2, 0.2],
                          "blq_sim_median": 0.2, "blq_sim_lower": [0.0, 0.3, 0.3, 0.1],
                          "blq_sim_upper": [0.2, 0.6, 0.6, 0.3]})
    result = VPCResult(table=table, observed=pd.DataFrame(), percentiles=(50.0,), ci=95, n_sim=100, has_lloq=True)
    inside = result.inside_bands()
    # bin 0: observed censored, lower above the LLOQ: outside; bin 1: all censored: inside;
    # bin 2: observed above the LLOQ, upper censored: outside; bin 3: 2.0 above [1.0, 1.5]: outside
    assert inside["p50"].tolist() == [False, True, False, False]
    assert inside["blq"].tolist() == [True, True, False, True]
    assert "outside the simulated 95 % intervals: bin 0: p50; bin 2: p50; bin 2: blq; bin 3: p50" in result.report()


def test_pred_zero_records_are_left_out_of_a_pcvpc():
    frame = pd.DataFrame({"ID": [1, 1, 1, 1, 2, 2, 2, 2], "TIME": [0, 0, 2, 6, 0, 0, 2, 6],
                          "AMT": [0, 100, 0, 0, 0, 100, 0, 0], "EVID": [0, 1, 0, 0, 0, 1, 0, 0],
                          "DV": [0.0, np.nan, 5.0, 3.0, 0.0, np.nan, 6.0, 2.5]})
    data = pkpd.read_nonmem(frame)
    with pytest.warns(RuntimeWarning, match="PRED <= 0"):
        result = pkpd.vpc(PM, data, n_sim=20, seed=1, prediction_corrected=True)
    assert (result.observed["TIME"] > 0).all() and result.table["n_obs"].sum() == 4


def test_bad_arguments(indometacin):
    cases = [({"n_sim": 9}, "n_sim"), ({"bins": [0, 2, 2, 8]}, "strictly increasing"), ({"bins": [1]}, "two"),
             ({"bins": 0}, ">= 1"), ({"bins": "8"}, "bins"), ({"percentiles": (5, 100)}, "percentiles"),
             ({"percentiles": (50, 50)}, "differ"), ({"ci": 100}, "ci"), ({"ci": True}, "ci"),
             ({"stratify": "SEX"}, "SEX")]
    for kwargs, match in cases:
        with pytest.raises(pkpd.ParameterError, match=match):
            pkpd.vpc(PM, indometacin, **{"n_sim": 10, **kwargs})
    with pytest.raises(pkpd.ParameterError, match="data the model was fitted to"):
        pkpd.vpc(PM)


def test_missing_stratum_values_and_a_fit_without_its_model(indometacin, tmp_path):
    ev = indometacin.events
    ev.loc[5, "GRP"] = None
    with pytest.raises(pkpd.DatasetError, match="GRP"):
        pkpd.vpc(PM, pkpd.read_nonmem(ev), n_sim=10, stratify="GRP")
    import dataclasses
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pkpd.fit_population(PM, indometacin, covariance=False, progress=False)
    loaded = dataclasses.replace(fit, popmodel=None)
    for function in (pkpd.vpc, pkpd.npde):
        with pytest.raises(pkpd.ParameterError, match="loaded without its population model"):
            function(loaded, indometacin, n_sim=10)


def test_vpc_of_an_ltbs_model_is_on_the_natural_scale(indometacin):
    """Exponential error (log-transform both sides): the simulated values are IPRED exp(SD EPS), so within a
    bin the simulated median percentile is the median of those draws (same replicates, same seed) and the
    pcVPC's multiplicative correction equals the additive correction of the logs (Bergstrand 2011)."""
    pm = PopulationModel(OneCompartment(), {"CL": 8.5, "V": 20.0}, {"CL": 0.05, "V": 0.1}, pkpd.ExponentialError(0.3))
    result = pkpd.vpc(pm, indometacin, n_sim=40, seed=8, bins=[0, 1, 3, 8], prediction_corrected=True)
    sim = pm.simulate(indometacin, 40, seed=8)
    n = int(indometacin.is_observation.sum())
    sims, pred = sim["DV"].to_numpy().reshape(40, n), sim["PRED"].to_numpy()[:n]
    assert (sims > 0).all()
    t = indometacin.observations["TIME"].to_numpy()
    cols = (t >= 1) & (t < 3)
    logs = np.log(sims[:, cols]) + np.log(np.median(pred[cols])) - np.log(pred[cols])     # additive on the logs
    med = np.median(np.percentile(np.exp(logs), 50, axis=1))
    assert result.table.iloc[1]["p50_sim_median"] == pytest.approx(med, rel=1e-12)
