"""Parameters that vary within a subject (``record_params`` of :func:`pkpd.simulate`, issue 6): API,
validation, batching and equivalence with constant parameters. Hand-derived values are in
``tests/validation/test_time_varying_parameters_hand.py``."""

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd import ParameterError
from pkpd.engine._batch import BatchPredictor
from pkpd.models import OneCompartment, OneCompartmentOral, TwoCompartment


def _events(times, amt=100.0, evid=None, rate=0.0):
    n = len(times)
    return pd.DataFrame({"ID": 1, "TIME": np.asarray(times, float),
                         "EVID": [1] + [0] * (n - 1) if evid is None else evid,
                         "AMT": [amt] + [0.0] * (n - 1), "RATE": [rate] + [0.0] * (n - 1), "CMT": 1, "II": 0.0,
                         "ADDL": 0, "SS": 0})


EV = _events([0.0, 2.0, 4.0, 6.0, 8.0])


# ---- bad input


@pytest.mark.parametrize(
    "record_params, message",
    [
        ({"CL": [1.0, 2.0]}, r"record_params\['CL'\]: expected one value per dataset record \(5\)"),
        ({"CL": np.ones((5, 1))}, r"expected one value per dataset record"),
        ({"CL": [1.0, 2.0, np.nan, 1.0, 1.0]}, r"record_params\['CL'\]: value nan at record 3 is not finite"),
        ({"CL": [1.0, 2.0, np.inf, 1.0, 1.0]}, r"value inf at record 3 is not finite"),
        ({"KE": [1.0] * 5}, r"OneCompartment has no parameter 'KE'; its parameters are CL, V"),
        ({"CL": [1.0, 2.0, -1.0, 1.0, 1.0]}, r"record_params\['CL'\]: value -1.0 at record 3 is outside"),
        ({"CL": ["a"] * 5}, r"record_params\['CL'\]: values must be numbers"),
        ({"F3": [1.0] * 5}, r"dosing parameter F3 refers to compartment 3, but OneCompartment has 1"),
        ({"F1": [1.0, -0.5, 1, 1, 1]}, r"record_params\['F1'\]: value -0.5 at record 2 is outside \[0, inf\)"),
        ({"D1": [1.0, 0.0, 1, 1, 1]}, r"record_params\['D1'\]: value 0.0 at record 2 is outside \(0, inf\)"),
        ([1.0] * 5, r"record_params must be a mapping"),
    ],
)
def test_bad_record_params_are_named(record_params, message):
    with pytest.raises(ParameterError, match=message):
        pkpd.simulate(OneCompartment(), EV, {"V": 10.0}, record_params=record_params)


def test_bad_carry_and_analytic_method():
    with pytest.raises(ParameterError, match=r"carry must be one of \('nocb', 'locf'\), not 'next'"):
        pkpd.simulate(OneCompartment(), EV, {"V": 10.0}, record_params={"CL": [1.0] * 5}, carry="next")
    with pytest.raises(ParameterError, match="carry must be one of"):
        pkpd.simulate(OneCompartment(), EV, {"V": 10.0}, carry="NOCB")
    # a linear model stays exact (analytic) when its parameters change between records
    exact = pkpd.simulate(OneCompartment(), EV, {"V": 10.0}, method="analytic", record_params={"CL": [1.0] * 5})
    assert exact.method == "analytic"
    with pytest.raises(ParameterError):  # BatchPredictor: one mapping per set
        BatchPredictor(OneCompartment(), pkpd.read_nonmem(EV.assign(DV=0.0)), "CP", [1])(
            [{"CL": 1.0}, {"CL": 2.0}], record_params=[{"CL": np.ones(5)}])


def test_auto_stays_exact_for_a_linear_model_and_empty_record_params_change_nothing():
    res = pkpd.simulate(OneCompartment(), EV, {"V": 10.0}, record_params={"CL": [1.0, 1, 2, 2, 2]})
    assert res.method == "analytic"                     # matrix exponentials between records (engine/_exact.py)
    ode = pkpd.simulate(OneCompartment(), EV, {"V": 10.0}, record_params={"CL": [1.0, 1, 2, 2, 2]}, method="ode",
                        rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res["CP"], ode["CP"], rtol=1e-7)
    plain = pkpd.simulate(OneCompartment(), EV, {"V": 10.0, "CL": 1.0})
    empty = pkpd.simulate(OneCompartment(), EV, {"V": 10.0, "CL": 1.0}, record_params={})
    assert plain.method == empty.method == "analytic"
    np.testing.assert_array_equal(plain["CP"], empty["CP"])


def test_record_params_as_a_dataframe_by_position():
    rp = pd.DataFrame({"CL": [2.0, 2, 2, 5, 5]}, index=[10, 11, 12, 13, 14])
    a = pkpd.simulate(OneCompartment(), EV, {"V": 10.0}, record_params=rp)
    b = pkpd.simulate(OneCompartment(), EV, {"V": 10.0}, record_params={"CL": rp["CL"].to_numpy()})
    np.testing.assert_array_equal(a["CP"], b["CP"])


# ---- constant values are the subject-level parameters


@pytest.mark.parametrize("solver", ["dp5", "bdf"])
@pytest.mark.parametrize("carry", ["nocb", "locf"])
def test_constant_record_params_equal_subject_parameters(solver, carry):
    """Theophylline (12 subjects, oral): per-subject CL, V, KA repeated on every record give the same
    predictions as the per-subject table without record_params, to 1e-12."""
    data = pkpd.load_dataset("theophylline")
    ids = data.events["ID"].unique()
    rng = np.random.default_rng(6)
    table = pd.DataFrame({"ID": ids, "CL": 2.8 * np.exp(0.2 * rng.standard_normal(len(ids))),
                          "V": 32.0 * np.exp(0.1 * rng.standard_normal(len(ids))), "KA": 1.5})
    rows = pd.Index(table["ID"]).get_indexer(data.events["ID"])
    rp = {"CL": table["CL"].to_numpy()[rows], "V": table["V"].to_numpy()[rows]}
    model = OneCompartmentOral()
    ref = pkpd.simulate(model, data, table, method="ode", solver=solver, states=True)
    got = pkpd.simulate(model, data, table.assign(CL=1.0, V=1.0), solver=solver, states=True, record_params=rp,
                        carry=carry)
    for name in ("CP", "DEPOT", "CENTRAL"):
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-12, atol=1e-15)


# ---- batching


def _population(n, seed=11):
    """n subjects: 100 mg IV bolus at 0, records every 2 h to 24 h, CL 3 -> 1 L/h at a random record."""
    rng = np.random.default_rng(seed)
    times = np.arange(0.0, 25.0, 2.0)
    frames, cl = [], []
    for i in range(n):
        ev = _events(times).assign(ID=i + 1)
        change = rng.integers(1, len(times))
        frames.append(ev)
        cl.append(np.where(np.arange(len(times)) >= change, 1.0, 3.0) * np.exp(0.2 * rng.standard_normal()))
    return pd.concat(frames, ignore_index=True), np.concatenate(cl)


@pytest.mark.parametrize("solver", ["dp5", "lsoda"])
@pytest.mark.parametrize("carry", ["nocb", "locf"])
def test_batched_subjects_equal_one_at_a_time(solver, carry):
    ev, cl = _population(50)
    params = pd.DataFrame({"ID": np.arange(1, 51), "V1": np.linspace(8.0, 20.0, 50), "Q": 4.0, "V2": 30.0})
    opts = dict(solver=solver, carry=carry, rtol=1e-10, atol=1e-12)
    batch = pkpd.simulate(TwoCompartment(), ev, params, record_params={"CL": cl}, **opts)
    chunked = pkpd.simulate(TwoCompartment(), ev, params, record_params={"CL": cl}, chunk_size=7, **opts)
    np.testing.assert_allclose(chunked["CP"], batch["CP"], rtol=1e-9 if solver == "lsoda" else 1e-12)
    for i in range(1, 51):
        rows = np.nonzero(ev["ID"].to_numpy() == i)[0]
        one = pkpd.simulate(TwoCompartment(), ev.iloc[rows].reset_index(drop=True), params.iloc[[i - 1]],
                            record_params={"CL": cl[rows]}, **opts)
        np.testing.assert_allclose(batch["CP"][rows], one["CP"], rtol=1e-12 if solver == "dp5" else 1e-7,
                                   err_msg=f"subject {i}")


def test_batch_predictor_passes_record_params_per_set():
    ev, cl = _population(4, seed=3)
    data = pkpd.read_nonmem(ev.assign(DV=0.0))
    obs = np.nonzero(ev["EVID"].to_numpy() == 0)[0]
    predictor = BatchPredictor(OneCompartment(), data, "CP", obs)
    sets = [{"V": 10.0}, {"V": np.array([9.0, 11.0, 12.0, 13.0])}, {"V": 15.0, "CL": 2.0}]
    per_set = [{"CL": cl}, {"CL": 2 * cl}, {}]  # the third set keeps its subject-level CL
    got = predictor(sets, record_params=per_set)
    for j, (s, rp) in enumerate(zip(sets, per_set)):
        p = pd.DataFrame({"ID": np.arange(1, 5), "V": np.broadcast_to(s["V"], (4,)), "CL": s.get("CL", 1.0)})
        # a linear model stays exact: the same path as simulate(method="analytic"), and the ODE engine agrees
        ref = pkpd.simulate(OneCompartment(), data, p, method="analytic", record_params=rp or None)
        np.testing.assert_allclose(got[j], ref["CP"][obs], rtol=1e-12)
        ode = pkpd.simulate(OneCompartment(), data, p, method="ode", record_params=rp or None, rtol=1e-10,
                            atol=1e-12)
        np.testing.assert_allclose(got[j], ode["CP"][obs], rtol=1e-7)
    # without record_params nothing changes (closed form), and a single mapping serves every set
    np.testing.assert_array_equal(predictor(sets[:1]), predictor(sets[:1], record_params=None))
    np.testing.assert_allclose(predictor(sets[:2], record_params={"CL": cl})[0], got[0], rtol=1e-12)


# ---- carrying rules at equal times, episodes and outputs


def test_records_at_the_same_time_the_last_one_carries_on():
    """Records at 0, 4, 4, 8 h with CL 1, 1, 9, 4 (V = 10): both carries use CL = 1 over (0, 4]. After 4 h
    LOCF keeps the last record at 4 h (CL = 9) until 8 h, NOCB takes the next record's (CL = 4)."""
    ev = _events([0.0, 4.0, 4.0, 8.0])
    rp = {"CL": [1.0, 1.0, 9.0, 4.0]}
    nocb = pkpd.simulate(OneCompartment(), ev, {"V": 10.0}, record_params=rp, rtol=1e-11, atol=1e-12)
    locf = pkpd.simulate(OneCompartment(), ev, {"V": 10.0}, record_params=rp, carry="locf", rtol=1e-11, atol=1e-12)
    c4 = 10 * np.exp(-0.4)
    np.testing.assert_allclose(nocb["CP"], [10.0, c4, c4, c4 * np.exp(-1.6)], rtol=1e-9)
    np.testing.assert_allclose(locf["CP"], [10.0, c4, c4, c4 * np.exp(-3.6)], rtol=1e-9)


def test_each_episode_starts_with_its_first_records_values():
    """EVID 4 restarting TIME at 0: the second episode (CL = 5 on its records) starts fresh with CL = 5."""
    ev = pd.DataFrame({"ID": 1, "TIME": [0.0, 6.0, 0.0, 6.0], "EVID": [1, 0, 4, 0], "AMT": [100.0, 0, 100.0, 0],
                       "RATE": 0.0, "CMT": 1, "II": 0.0, "ADDL": 0, "SS": 0})
    res = pkpd.simulate(OneCompartment(), ev, {"V": 10.0}, record_params={"CL": [2.0, 2.0, 5.0, 5.0]},
                        rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(res["CP"], [10.0, 10 * np.exp(-1.2), 10.0, 10 * np.exp(-3.0)], rtol=1e-9)


def test_states_and_outputs_with_two_subjects_and_a_dataset():
    ev = pd.concat([_events([0.0, 1.0, 3.0]).assign(ID=7), _events([0.0, 2.0, 5.0]).assign(ID=3)], ignore_index=True)
    data = pkpd.read_nonmem(ev.assign(DV=0.0))
    res = pkpd.simulate(OneCompartment(), data, {"CL": 1.0}, record_params={"V": [10.0, 10, 20, 5, 5, 5]},
                        states=True, rtol=1e-11, atol=1e-12)
    # subject 7: V 10 over [0, 1], then 20 (NOCB, from 1 h): CL/V 0.1 then 0.05; subject 3: V = 5 throughout
    a7 = 100 * np.exp(-0.1 * np.array([0.0, 1.0, 1.0]) - 0.05 * np.array([0.0, 0.0, 2.0]))
    a3 = 100 * np.exp(-0.2 * np.array([0.0, 2.0, 5.0]))
    np.testing.assert_allclose(res["CENTRAL"], np.r_[a7, a3], rtol=1e-9)
    np.testing.assert_allclose(res["CP"], np.r_[a7, a3] / np.array([10.0, 10, 20, 5, 5, 5]), rtol=1e-9)
    assert list(res.id) == [7, 7, 7, 3, 3, 3]


def test_modelled_duration_is_read_at_each_dose_record():
    """RATE=-2 doses of 100 mg at 0 and 12 h with D1 = 2 h and 4 h on their records equal the same doses
    given with explicit rates 50 and 25 mg/h (the observation records' D1 values do not matter)."""
    times = [0.0, 1.0, 3.0, 12.0, 13.0, 15.0, 20.0]
    ev = _events(times, evid=[1, 0, 0, 1, 0, 0, 0])
    ev["AMT"] = [100.0, 0, 0, 100.0, 0, 0, 0]
    explicit = ev.assign(RATE=[50.0, 0, 0, 25.0, 0, 0, 0])
    modelled = ev.assign(RATE=[-2.0, 0, 0, -2.0, 0, 0, 0])
    params = {"CL": 3.0, "V": 20.0}
    ref = pkpd.simulate(OneCompartment(), explicit, params, method="ode", rtol=1e-11, atol=1e-12)
    got = pkpd.simulate(OneCompartment(), modelled, params, record_params={"D1": [2.0, 9.0, 9.0, 4.0, 1.0, 1.0, 1.0]},
                        rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(got["CP"], ref["CP"], rtol=1e-10)
