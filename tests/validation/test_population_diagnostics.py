"""Population diagnostics on data simulated from the true model (issue 6, criterion 4): CWRES and NPDE are
N(0, 1) (mean within +-0.1, SD within 0.9-1.1), shrinkage is its definition, and the VPC's observed
percentiles fall inside the simulated 95 % bands -- and do not for a wrong model.

References: CWRES, Hooker, Staatz & Karlsson 2007 (Pharm Res 24:2187); NPDE, Brendel et al. 2006 (Pharm
Res 23:2036) and Comets, Brendel & Mentré 2008 (Comput Methods Programs Biomed 90:154); shrinkage, Savic &
Karlsson 2009 (AAPS J 11:558); VPC, Karlsson & Holford 2008 and, with BLQ data, Bergstrand & Karlsson 2009
(AAPS J 11:371).

Design: 80 subjects, 320 mg oral (DEPOT), 9 samples (0.5-24 h); truth CL 3 L/h, V 30 L, KA 1.5 1/h, omega^2
0.09 / 0.04 / 0.25, proportional error 15 %; DV simulated with seed 1; FOCE-I started at CL 3.3, V 27, KA 1.3.
"""

import math

import numpy as np
import pytest

import pkpd
from pkpd.models import OneCompartmentOral

TIMES = [0.5, 1, 2, 3, 4, 6, 8, 12, 24]
N_SUBJECTS = 80
DATA_SEED = 1
TRUTH = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 3.0, "V": 30.0, "KA": 1.5},
                             {"CL": 0.09, "V": 0.04, "KA": 0.25}, pkpd.ProportionalError(0.15))


def _design():
    return pkpd.population.synthetic.cohort(OneCompartmentOral(), pkpd.Bolus(320, cmt="DEPOT"), N_SUBJECTS,
                                 params={"CL": 3.0, "V": 30.0, "KA": 1.5}, design=TIMES, seed=1).data


def _with_dv(design, dv, lloq=None):
    """The design with its observations replaced by ``dv`` (and censored at ``lloq``: BLQ = 1, DV = LLOQ)."""
    ev = design.events
    obs = design.is_observation
    if lloq is not None:
        ev["BLQ"], ev["LLOQ"] = 0, np.nan
        ev.loc[obs, "LLOQ"] = lloq
        ev.loc[obs, "BLQ"] = (dv < lloq).astype(int)
        dv = np.where(dv < lloq, lloq, dv)
    ev.loc[obs, "DV"] = dv
    return pkpd.read_nonmem(ev)


@pytest.fixture(scope="module")
def design():
    return _design()


@pytest.fixture(scope="module")
def data(design):
    dv = TRUTH.simulate(design, 1, seed=DATA_SEED)["DV"].to_numpy()
    return _with_dv(design, dv)


@pytest.fixture(scope="module")
def fit(data):
    start = TRUTH.with_values({"CL": 3.3, "V": 27.0, "KA": 1.3})
    result = pkpd.fit_population(start, data, covariance=False, progress=False)
    assert result.success and not result.warnings
    return result


def test_cwres_is_standard_normal(fit):
    """CWRES mean and SD (measured -0.037 and 1.002; 720 observations)."""
    cwres = fit.diagnostics["CWRES"].to_numpy()
    assert np.isfinite(cwres).all() and len(cwres) == N_SUBJECTS * len(TIMES)
    assert abs(cwres.mean()) < 0.1
    assert 0.9 <= cwres.std(ddof=1) <= 1.1


def test_npde_is_standard_normal(fit, data):
    """NPDE with 500 replicates (seed 2): mean 0.018, SD 1.016 measured. Over data seeds 1-8 the mean was
    0.012-0.022 and the SD 1.009-1.052 (the empirical covariance of 500 replicates of 9-vectors inflates the
    SD by about 1 %). Wrong models fail: V halved, mean -0.087 but SD 1.30 and a trend in time (the
    decorrelation moves a subject's common shift into its first NPDE, so the mean alone is a weak check);
    IIV shrunk to 1 % of its estimate, mean -0.026, SD 1.65 (200 replicates)."""
    table = pkpd.npde(fit, data, n_sim=500, seed=2)
    assert list(table.columns) == ["ID", "TIME", "PDE", "NPDE"]
    assert table[["ID", "TIME"]].equals(fit.diagnostics[["ID", "TIME"]])
    values = table["NPDE"].to_numpy()
    assert np.isfinite(values).all()
    assert abs(values.mean()) < 0.1
    assert 0.9 <= values.std(ddof=1) <= 1.1
    # the same data under wrong models: the NPDE are not N(0, 1)
    final = fit.final_model
    for wrong in (final.with_values({**fit.theta, "V": fit.theta["V"] / 2}), final.with_values(omega=fit.omega * 0.01)):
        wrong_table = pkpd.npde(wrong, data, n_sim=200, seed=2)
        values = wrong_table["NPDE"].to_numpy()
        assert not (abs(values.mean()) < 0.1 and 0.9 <= values.std(ddof=1) <= 1.1)
    by_time = wrong_table.groupby("TIME")["NPDE"].mean()
    assert abs(by_time).max() < 0.5             # no trend in time with the right structure, too little IIV
    by_time = pkpd.npde(final.with_values({**fit.theta, "V": fit.theta["V"] / 2}), data, n_sim=200,
                        seed=2).groupby("TIME")["NPDE"].mean()
    assert by_time[0.5] < -0.5 and by_time[24] > 0.5            # V halved: a trend in time


def test_shrinkage_is_its_definition(fit):
    """eta shrinkage = 1 - SD(EBE) / omega (Savic & Karlsson 2009), to 1e-12."""
    for name in fit.omega.index:
        ebe = fit.etas[f"ETA_{name}"].to_numpy()
        expected = 1.0 - np.std(ebe, ddof=1) / math.sqrt(fit.omega.loc[name, name])
        assert fit.shrinkage[f"eta_{name}"] == pytest.approx(expected, abs=1e-12)
    iwres = fit.diagnostics["IWRES"].to_numpy()
    assert fit.shrinkage["epsilon"] == pytest.approx(1.0 - np.std(iwres, ddof=1), abs=1e-12)


def test_vpc_observed_percentiles_inside_the_simulated_bands(fit, data):
    """Every observed 5th/50th/95th percentile of the 8 default bins is inside the simulated 95 % interval
    (500 replicates, seed 3). Each of the 24 comparisons falls outside with about 5 % probability under the
    model, so "every one inside" is a property of this data set, not of every one: with the fitted model,
    data seeds 1-8 gave 0, 0, 0, 1, 0, 0, 0, 1 outside; with the true model, 40 data seeds gave none outside
    in 27 % and 1.4 outside on average (at most 6). A wrong model must fail: V halved puts 21 of 24 outside,
    IIV shrunk to 1 % of its estimate 16 of 24; the prediction-corrected VPC passes too."""
    result = pkpd.vpc(fit, data, n_sim=500, seed=3)
    table = result.table
    assert len(table) == 8 and table["n_obs"].sum() == N_SUBJECTS * len(TIMES)
    assert not result.has_lloq and table.filter(like="_observed").notna().all().all()
    inside = result.inside_bands()[["p5", "p50", "p95"]]
    assert inside.to_numpy().all(), result.report()

    final = fit.final_model
    for wrong in (final.with_values({**fit.theta, "V": fit.theta["V"] / 2}),   # structural misfit
                  final.with_values(omega=fit.omega * 0.01)):                  # no IIV to speak of
        bad = pkpd.vpc(wrong, data, n_sim=500, seed=3).inside_bands()[["p5", "p50", "p95"]]
        assert (~bad.to_numpy()).sum() >= 10

    pc = pkpd.vpc(fit, data, n_sim=500, seed=3, prediction_corrected=True)
    assert pc.inside_bands()[["p5", "p50", "p95"]].to_numpy().all(), pc.report()


def test_vpc_with_data_below_the_lloq(design):
    """LLOQ 1 mg/L (41 of 80 samples at 24 h, 2 at 12 h BLQ; data seed 1, truth): the fractions BLQ of every
    bin are inside the simulated 95 % intervals (24 h: 0.51 observed, 0.375-0.600 simulated), the percentiles
    below the LLOQ are censored (NaN: the 24-h 5th and 50th observed percentiles and the 5th simulated),
    and the censored comparisons count as inside. NPDE are NaN exactly for the BLQ records. A clearance
    raised by half makes BLQ too frequent at 12 and 24 h (outside)."""
    dv = TRUTH.simulate(design, 1, seed=DATA_SEED)["DV"].to_numpy()
    data = _with_dv(design, dv, lloq=1.0)
    blq = data.events.loc[data.is_observation, "BLQ"].to_numpy() == 1
    assert 30 < blq.sum() < 60

    result = pkpd.vpc(TRUTH, data, n_sim=500, seed=3)
    table = result.table
    assert result.has_lloq and (table["lloq"] == 1.0).all()
    assert table["n_blq"].sum() == blq.sum()
    assert table["blq_observed"].to_numpy() == pytest.approx(table["n_blq"] / table["n_obs"])
    last = table.iloc[-1]
    assert last["time_median"] == 24 and last["blq_observed"] > 0.3
    assert math.isnan(last["p5_observed"]) and math.isnan(last["p50_observed"]) and last["p95_observed"] > 1.0
    assert math.isnan(last["p5_sim_median"]) and math.isnan(last["p5_sim_upper"])
    observed = table.filter(like="_observed").drop(columns="blq_observed").to_numpy()
    assert np.all(np.isnan(observed) | (observed >= 1.0))        # nothing reported below the LLOQ
    inside = result.inside_bands()
    assert inside[["p5", "p50", "p95", "blq"]].to_numpy().all(), result.report()

    high_cl = pkpd.vpc(TRUTH.with_values({"CL": 4.5, "V": 30.0, "KA": 1.5}), data, n_sim=500, seed=3)
    assert not high_cl.inside_bands()["blq"].iloc[-2:].any()

    table = pkpd.npde(TRUTH, data, n_sim=200, seed=2)
    assert np.array_equal(table["NPDE"].isna().to_numpy(), blq)
