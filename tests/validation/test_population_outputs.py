"""A residual error model per output (issue 6): parent and metabolite observed together, told apart by DVID."""

import math

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.models import ParentMetabolite

TRUTH = {"CL": 10.0, "V": 50.0, "FM": 0.6, "CLM": 4.0, "VM": 30.0, "KA": 1.0}
ERRORS = {"CP": pkpd.ProportionalError(0.1), "CM": pkpd.ProportionalError(0.15)}


def popmodel(values=TRUTH, errors=ERRORS, omega=None):
    return pkpd.PopulationModel(ParentMetabolite(), values, omega or {"CL": 0.09, "CLM": 0.09}, errors,
                                fixed=("FM",), transforms={"FM": "logit"})


def design(n):
    rows = []
    for i in range(1, n + 1):
        rows.append({"ID": i, "TIME": 0.0, "EVID": 1, "AMT": 500.0, "CMT": 1, "DV": np.nan, "MDV": 1, "DVID": 0})
        rows += [{"ID": i, "TIME": t, "EVID": 0, "AMT": 0.0, "CMT": 2, "DV": 1.0, "MDV": 0, "DVID": k}
                 for t in (0.5, 1, 2, 4, 8, 12, 24) for k in (1, 2)]
    return pkpd.read_nonmem(pd.DataFrame(rows))


def simulated(n, seed):
    data = design(n)
    sim = popmodel().simulate(data, seed=seed)
    ev = data.events.copy()
    ev.loc[ev["EVID"] == 0, "DV"] = sim["DV"].to_numpy()
    return pkpd.read_nonmem(ev)


def test_objective_of_one_subject_sums_each_outputs_own_likelihood():
    """Omega -> 0: the objective of one subject is the -2LL of the parent levels under the parent's error plus
    that of the metabolite levels under the metabolite's (predictions from pkpd.simulate, DVID 1 = CP, 2 = CM)."""
    data = simulated(1, seed=5)
    pm = popmodel(omega={"CL": 1e-15, "CLM": 1e-15})
    pred = pkpd.simulate(ParentMetabolite(), data, TRUTH)
    obs = data.observations
    ev = data.events
    expected = 0.0
    for k, (out, err) in enumerate(ERRORS.items(), start=1):
        rows = (ev["EVID"] == 0).to_numpy() & (ev["DVID"] == k).to_numpy()
        y, f = ev["DV"].to_numpy()[rows], np.asarray(pred[out])[rows]
        expected += np.sum(err.neg2ll(y, f, err.parameters)) - len(y) * math.log(2 * math.pi)
    assert len(obs) == 14
    assert pkpd.population_ofv(pm, data) == pytest.approx(expected, abs=1e-6)


def test_parent_and_metabolite_fit_recovers_both_errors():
    """40 subjects simulated from the truth: FOCE-I from perturbed values recovers CL, CLM (within 10 %) and each
    output's proportional error (within 15 %: 0.100 and 0.142 measured); the DVID may also name the output."""
    data = simulated(40, seed=3)
    start = popmodel().with_values({**TRUTH, "CL": 7.0, "V": 40.0, "CLM": 6.0, "VM": 20.0, "KA": 1.5},
                                   error={"CP.CV": 0.2, "CM.CV": 0.2})
    fit = pkpd.fit_population(start, data, covariance=False, progress=False)
    assert fit.success and not fit.warnings
    for k in ("CL", "CLM", "V", "VM"):
        assert fit.theta[k] == pytest.approx(TRUTH[k], rel=0.10), k
    assert fit.error["CP.CV"] == pytest.approx(0.10, rel=0.15)
    assert fit.error["CM.CV"] == pytest.approx(0.15, rel=0.15)
    assert {"sigma_CP.CV", "sigma_CM.CV"} <= set(fit.table().index)
    named = data.events.assign(DVID=data.events["DVID"].map({0: "CP", 1: "CP", 2: "CM"}))
    assert pkpd.population_ofv(fit.final_model, pkpd.read_nonmem(named)) == pytest.approx(fit.ofv, abs=1e-6)


def test_an_error_per_output_needs_a_valid_dvid():
    data = design(2)
    with pytest.raises(pkpd.DatasetError, match="need a DVID column"):
        pkpd.population_ofv(popmodel(), pkpd.read_nonmem(data.events.drop(columns="DVID")))
    with pytest.raises(pkpd.DatasetError, match="DVID 3 is neither an output"):
        pkpd.population_ofv(popmodel(), pkpd.read_nonmem(data.events.assign(DVID=3)))
    with pytest.raises(pkpd.ParameterError, match=r"error outputs \['CX'\] are not outputs"):
        popmodel(errors={"CX": pkpd.AdditiveError(1.0)})
