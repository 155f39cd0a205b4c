"""Validation of virtual trials (issue 7) on the status-epilepticus model.

References: the virtual SE cohort and its termination fractions of :func:`pkpd.se.scenarios.cohort_termination`
(calibrated there to Trinka 2015 and Lowenstein & Alldredge 1993: midazolam 10 mg IM stops most seizures at
5 min and far fewer at 30 min). The trial machinery must reproduce those fractions
exactly when given the same parameter table, and give bit-identical results whatever the chunking and
whether chunks run serially or on Dask workers (criterion 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pkpd.trials import endpoints
from pkpd.se import scenarios
from pkpd.trials import TrialDesign, from_table, run_trial, se_population


def _se_design(delays=(5, 30)):
    return TrialDesign({f"{d} min": scenarios.treat(d) for d in delays}, times=np.linspace(0.0, 4.0, 9),
                       endpoints=[endpoints.terminated_by(4.0), endpoints.time_to_termination(),
                                  endpoints.minimum("GABAA.SURFACE_A235")])


def test_reproduces_cohort_termination_with_the_same_parameter_table():
    """Midazolam 10 mg IM at 5 vs 30 min, 200 patients of cohort_parameters(seed 2024): the trial's
    terminated fractions equal cohort_termination's (same patients, same 4-h window, threshold 0.1)."""
    n = 200
    ref = scenarios.cohort_termination((5, 30), n=n, seed=2024)
    table = scenarios.cohort_parameters(n=n, seed=2024)
    res = run_trial(from_table(scenarios.se_model(), table), _se_design(), n, seed=0, progress=False,
                    rtol=1e-4, atol=1e-7)
    s = res.summarize().query("endpoint == 'terminated_by_4h'").set_index("arm")["estimate"]
    assert s["5 min"] == ref[5] and s["30 min"] == ref[30]
    assert ref[5] > 0.85 and ref[30] < ref[5] - 0.15            # early treatment works, later less often
    # time to termination is defined exactly where the patient is terminated at 4 h
    sub = res.subjects
    assert (np.isfinite(sub["time_to_termination"]) == sub["terminated_by_4h"]).all()


def test_common_random_numbers_and_receptor_loss():
    """Same patients in each arm: nobody treated at 30 min stops while failing at 5 min, and the surface
    alpha2/3/5 GABA-A nadir is lower with late treatment (receptor internalisation, Naylor 2005)."""
    res = run_trial(se_population(), _se_design(), 150, seed=42, progress=False, rtol=1e-4, atol=1e-7)
    s = res.subjects
    early, late = s[s.arm == "5 min"], s[s.arm == "30 min"]
    assert (early["ID"].to_numpy() == late["ID"].to_numpy()).all()
    assert not (late["terminated_by_4h"].to_numpy() & ~early["terminated_by_4h"].to_numpy()).any()
    assert late["min_GABAA.SURFACE_A235"].median() < early["min_GABAA.SURFACE_A235"].median()


def test_bit_identical_across_chunk_sizes_and_threads():
    """Chunks of 40, 60 or all subjects, simulated one at a time or two at once on threads, by the numpy engine and
    by the compiled one: the same results (each engine with itself)."""
    design = _se_design()
    for solver in ("dp5", "compiled"):
        runs = [run_trial(se_population(), design, 80, seed=7, progress=False, rtol=1e-4, atol=1e-7, block_size=40,
                          chunk_size=c, threads=t, solver=solver) for c, t in ((40, 1), (40, 2), (60, 2), (1000, 1))]
        for other in runs[1:]:
            assert other.summarize().equals(runs[0].summarize())
            assert other.subjects.equals(runs[0].subjects)
            assert other.timecourses.equals(runs[0].timecourses)
    # a different seed gives different patients (the first 40 of each)
    other = run_trial(se_population(), design, 40, seed=8, progress=False, rtol=1e-4, atol=1e-7, block_size=40,
                      solver="compiled").subjects
    first = runs[0].subjects
    nadir = "min_GABAA.SURFACE_A235"
    assert not np.array_equal(other.loc[other.ID <= 40, nadir].to_numpy(), first.loc[first.ID <= 40, nadir].to_numpy())


def test_bit_identical_through_dask_local_cluster():
    import dask.distributed as distributed            # in the 'test' and 'all' extras
    design = _se_design()
    serial = run_trial(se_population(), design, 60, seed=3, progress=False, rtol=1e-4, atol=1e-7, block_size=20,
                       chunk_size=20)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        dask = run_trial(se_population(), design, 60, seed=3, progress=False, rtol=1e-4, atol=1e-7, block_size=20,
                         chunk_size=20, client=client)
    assert dask.summarize().equals(serial.summarize())
    assert dask.subjects.equals(serial.subjects)
    assert dask.timecourses.equals(serial.timecourses)


def test_a_virtual_population_drives_weight_based_arms():
    """pkpd.Population.virtual feeds run_trial directly (its WT scales the per-kg dose): the same result as its
    covariate table, and levetiracetam 60 mg/kg on top of midazolam never stops fewer seizures."""
    import pkpd
    from pkpd.trials import Dose, TrialDesign, run_trial, se_population

    pop = pkpd.Population.virtual(40, seed=2)
    mdz = [Dose("MDZ.DEPOT", 10, time=15 / 60)]
    lev = Dose("LEV.CENTRAL", 60, per_kg=True, max_amount=4500, time=40 / 60, duration=10 / 60)
    design = TrialDesign({"MDZ": mdz, "MDZ + LEV": mdz + [lev]}, times=np.linspace(0, 4, 9),
                         endpoints=[endpoints.terminated_by(4.0)])
    source = se_population(("midazolam", "levetiracetam"))
    a = run_trial(source, design, pop, seed=3, progress=False)
    b = run_trial(source, design, pop.covariates, seed=3, progress=False)
    pd.testing.assert_frame_equal(a.subjects, b.subjects)
    wide = a.subjects.pivot(index="ID", columns="arm", values="terminated_by_4h")
    assert (wide["MDZ + LEV"] >= wide["MDZ"]).all()
