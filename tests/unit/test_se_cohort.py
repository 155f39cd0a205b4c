"""The random streams of the virtual SE patients (pkpd.se.scenarios.cohort_columns and its three callers).

Calibrated and recorded numbers depend on these streams: each test rebuilds a column from the raw generators,
so a change in how a builder draws (not in the typical values) fails here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pkpd.se import scenarios
from pkpd.se._calibration_simulation import virtual_cohort, weights
from pkpd.se.calibration import model_params
from pkpd.se.population import se_population
from pkpd.trials._sources import block_normals

DRUGS = ("midazolam", "levetiracetam")


def _expected(model, base, normals, n):
    """The PK and severity columns from ``normals(stream, size)`` as the builders define them."""
    out = {}
    for name in DRUGS:
        pre = scenarios.DRUGS[name]["prefix"]
        z = normals(1 + list(scenarios.DRUGS).index(name), 2)
        for j, key in enumerate(("CL", "V")):
            pname = f"{pre}.{key}" if f"{pre}.{key}" in base else f"{pre}.{key}1"
            out[pname] = np.full(n, float(base[pname])) * np.exp(scenarios.IIV[key] * z[:, j])

    def value(name):
        return np.full(n, float(base[name]) if name in base else model.parameter(name).default)

    e0, e_min = value("SEIZURE.E0"), value("SEIZURE.G0") + 5.0 * value("SEIZURE.W")
    out["SEIZURE.E0"] = e_min + (e0 - e_min) * np.exp(scenarios.IIV["E0"] * normals(0, 1)[:, 0])
    return out


def test_cohort_parameters_draws_cl_then_v_from_one_generator_per_drug():
    n, seed = 7, 2024

    def sequential(stream, size):           # successive standard_normal(n), not one (n, size) draw
        rng = np.random.default_rng([seed, stream])
        return np.column_stack([rng.standard_normal(n) for _ in range(size)])

    p = scenarios.cohort_parameters(DRUGS, n, seed)
    model = scenarios.se_model(DRUGS)
    for name, col in _expected(model, scenarios.se_params(DRUGS), sequential, n).items():
        np.testing.assert_array_equal(p[name].to_numpy(), col, err_msg=name)
    assert list(p.columns[:2]) == ["ID", "MDZ.CL"] and p["ID"].tolist() == list(range(1, n + 1))


def test_se_population_draws_blocks_per_subject_index():
    idx, seed = np.array([0, 5, 1999, 2000, 4097]), 7
    src = se_population(DRUGS)
    p = src(None, idx, seed)
    for name, col in _expected(src.model, scenarios.se_params(DRUGS),
                               lambda stream, size: block_normals([seed, stream], idx, size), len(idx)).items():
        np.testing.assert_array_equal(p[name].to_numpy(), col, err_msg=name)
    assert "ID" not in p.columns


def test_weight_scaling_is_the_same_in_every_builder():
    """virtual_cohort = cohort_parameters then scale_to_weight; SEPopulation with WT = scaled, same patients."""
    n, seed = 6, 11
    wt = weights(n, seed)
    vc = virtual_cohort(DRUGS, n, seed)
    params, iiv = model_params({}, DRUGS)
    ref = scenarios.scale_to_weight(scenarios.cohort_parameters(DRUGS, n, seed, iiv=iiv, params=params), DRUGS, wt)
    ref["WT"] = wt
    pd.testing.assert_frame_equal(vc, ref, check_exact=True)

    src = se_population(DRUGS)
    idx = np.arange(n)
    plain, heavy = src(None, idx, seed), src(pd.DataFrame({"WT": wt}), idx, seed)
    pd.testing.assert_frame_equal(heavy, scenarios.scale_to_weight(plain, DRUGS, wt), check_exact=True)
