"""Unit tests of pkpd.engine._closed_form: agreement with an independent event-by-event reference,
agreement of its internal routes (eigen / matrix exponential, bolus scan / per-pair), chunking, output
order, batching and errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.linalg

from pkpd.errors import ModelError
from pkpd.engine import _closed_form as cf
from pkpd.models import pk
from pkpd.models._base import Model
from pkpd.engine._closed_form import closed_form_outputs, closed_form_states
from pkpd.engine._schedule import compile_schedule

COLS = ["ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS"]


def schedule_for(model, events, params):
    ids, p = model.resolve_params(params)
    subj = np.searchsorted(ids, events["ID"].to_numpy())
    sched = compile_schedule(events, model, subj, model.dosing_matrices(p, len(ids)),
                             output_mask=(events["EVID"] == 0).to_numpy())
    return sched, p


# ---------------------------------------------------------------------------------------------- random events


def random_events(rng, n_subjects, dose_cmts, n_states, *, ss=False, resets=True, max_doses=4, n_obs=12):
    """Random canonical event tables (records in time order). Dose times are random floats, so lagged
    arrivals and infusion ends never coincide with records (no tie ambiguity)."""
    rows = []
    for i in range(1, n_subjects + 1):
        recs = []
        for _ in range(rng.integers(1, max_doses + 1)):
            t = float(np.round(rng.uniform(0, 60), 3))
            cmt = int(rng.choice(dose_cmts))
            amt = float(rng.uniform(10, 200))
            rate = 0.0 if rng.random() < 0.5 else float(amt / rng.uniform(0.3, 15))
            addl = int(rng.integers(0, 4))
            ii = float(np.round(rng.uniform(4, 16), 3)) if (addl or ss) else 0.0
            s = int(rng.choice([0, 0, 1, 2])) if ss else 0
            if s:
                ii = float(np.round(rng.uniform(4, 16), 3))
            evid = 4 if (resets and rng.random() < 0.15) else 1
            recs.append([i, t, evid, amt, rate, cmt, ii, addl, s])
        if resets and rng.random() < 0.5:
            recs.append([i, float(np.round(rng.uniform(0, 80), 3)), 3, 0.0, 0.0, 1, 0.0, 0, 0])
        for t in rng.uniform(0, 100, n_obs):
            recs.append([i, float(np.round(t, 3)), 0, 0.0, 0.0, int(rng.integers(1, n_states + 1)), 0.0, 0, 0])
        recs.append([i, recs[0][1], 0, 0.0, 0.0, 1, 0.0, 0, 0])  # an observation at a dose time, after it
        recs.sort(key=lambda r: r[1])  # stable: keeps the record order at equal times
        rows += recs
    return pd.DataFrame(rows, columns=COLS)


def reference_states(model, events, p):
    """Event-by-event solution straight from the event table (no Schedule): the augmented matrix
    exponential [[A h, r h], [0, 0]] advances the state over each interval with infusion rates r.

    NONMEM ordering: records in record order; implied events (ADDL copies, lagged arrivals, infusion
    ends) after the records at the same time; a reset (EVID 3/4) zeroes the state and cancels every
    pending or running input of the records before it. No SS records."""
    ids = np.unique(events["ID"].to_numpy())
    A_all = model.system_matrix(p)
    dm = model.dosing_matrices(p, len(ids))
    S = len(model.states)
    out = []
    for s_i, sid in enumerate(ids):
        ev = events[events["ID"] == sid].reset_index(drop=True)
        A = A_all[s_i]
        items = []  # (time, implied, seq, action, payload)
        seq = 0
        for i, r in ev.iterrows():
            evid = int(r.EVID)
            if evid == 0:
                items.append((r.TIME, 0, i, 0, "obs", None))
                continue
            if evid in (3, 4):
                items.append((r.TIME, 0, i, 0, "reset", i))
            if evid in (1, 4):
                c = int(r.CMT) - 1
                F, lag = dm["F"][s_i, c], dm["ALAG"][s_i, c]
                for j in range(int(r.ADDL) + 1):
                    arrival = r.TIME + j * r.II + lag
                    implied = 0 if (j == 0 and lag == 0) else 1
                    seq += 1
                    amount = F * r.AMT
                    if r.RATE > 0:
                        items.append((arrival, implied, i if not implied else seq, 1, "start", (c, r.RATE, i)))
                        items.append((arrival + amount / r.RATE, 1, seq, 1, "end", (c, r.RATE, i)))
                    else:
                        items.append((arrival, implied, i if not implied else seq, 1, "bolus", (c, amount, i)))
        items.sort(key=lambda x: (x[0], x[1], x[2], x[3]))
        x = model.initial_state({k: v[s_i:s_i + 1] for k, v in p.items()})[0].astype(float)
        rate = np.zeros(S)
        running = []  # (c, rate, src)
        t_now = ev.TIME.iloc[0]
        last_reset = -1
        res = []
        for t, _, _, _, action, payload in items:
            if t > t_now:
                M = np.zeros((S + 1, S + 1))
                M[:S, :S] = A * (t - t_now)
                M[:S, S] = rate * (t - t_now)
                E = scipy.linalg.expm(M)
                x = E[:S, :S] @ x + E[:S, S]
                t_now = t
            if action == "obs":
                res.append(x.copy())
            elif action == "reset":
                x = model.initial_state({k: v[s_i:s_i + 1] for k, v in p.items()})[0].astype(float)
                rate[:] = 0
                running = []
                last_reset = payload
            else:
                c, val, src = payload
                if src < last_reset:
                    continue  # cancelled by a reset after its record
                if action == "bolus":
                    x[c] += val
                elif action == "start":
                    rate[c] += val
                    running.append((c, val, src))
                elif action == "end" and (c, val, src) in running:
                    running.remove((c, val, src))
                    rate[c] -= val
        out += res
    return np.array(out)


MODELS = [
    (pk.OneCompartment(), {"CL": (2, 8), "V": (20, 80)}, [1]),
    (pk.OneCompartmentOral(), {"CL": (2, 8), "V": (20, 80), "KA": (0.3, 3), "F1": (0.3, 1), "ALAG1": (0, 2)}, [1, 2]),
    (pk.TwoCompartment(), {"CL": (2, 8), "V1": (10, 30), "Q": (2, 15), "V2": (30, 90)}, [1, 2]),
    (pk.TwoCompartmentOral(), {"CL": (2, 8), "V1": (10, 30), "Q": (2, 15), "V2": (30, 90), "KA": (0.3, 3),
                               "F1": (0.3, 1), "ALAG1": (0, 2)}, [1, 2]),
    (pk.ThreeCompartmentOral(), {"CL": (2, 8), "V1": (10, 30), "Q": (2, 15), "V2": (30, 90), "Q3": (1, 5),
                                 "V3": (50, 200), "KA": (0.3, 3), "ALAG1": (0, 2)}, [1, 2, 3]),
    (pk.ParentMetabolite(), {"CL": (2, 8), "V": (20, 80), "FM": (0.2, 1), "CLM": (2, 20), "VM": (10, 60),
                             "KA": (0.3, 3)}, [1, 2]),
]


def random_params(rng, ranges, n):
    return {k: rng.uniform(lo, hi, n) for k, (lo, hi) in ranges.items()}


@pytest.mark.parametrize("model,ranges,dose_cmts", MODELS, ids=[m.name for m, _, _ in MODELS])
def test_matches_event_by_event_reference(model, ranges, dose_cmts):
    """Superposition over the compiled schedule equals sequential integration of the raw event table
    (boluses, infusions, ADDL, lag, F, EVID 3/4, several dose compartments)."""
    rng = np.random.default_rng(7)
    n = 12
    ev = random_events(rng, n, dose_cmts, len(model.states))
    sched, p = schedule_for(model, ev, random_params(rng, ranges, n))
    got = closed_form_states(model, sched, p)
    ref = reference_states(model, ev, p)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-11 * scale)


def test_repeated_eigenvalue_matches_reference():
    """KA equal to an eigenvalue of the disposition part (a defective A) goes the expm route and still
    matches the sequential reference."""
    rng = np.random.default_rng(11)
    CL, V1, Q, V2 = 5.0, 20.0, 10.0, 50.0
    k10, k12, k21 = CL / V1, Q / V1, Q / V2
    s = k10 + k12 + k21
    beta = (s - np.sqrt(s * s - 4 * k10 * k21)) / 2
    model = pk.TwoCompartmentOral()
    ev = random_events(rng, 3, [1, 2], 3)
    par = {"CL": CL, "V1": V1, "Q": Q, "V2": V2, "KA": [beta, 0.5, k10 + k12], "ALAG1": [0.0, 0.3, 0.7]}
    sched, p = schedule_for(model, ev, par)
    lam, V, W, deg = cf._decompose(model, model.system_matrix(p))
    assert deg.tolist() == [True, False, False]  # KA = k10 + k12 is not an eigenvalue of A
    np.testing.assert_allclose(closed_form_states(model, sched, p), reference_states(model, ev, p),
                               rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------- internal routes


def _complex_events(rng, n):
    return random_events(rng, n, [1, 2], 3, ss=True, max_doses=5, n_obs=25)


TWO_CMT_ORAL = MODELS[3]


def test_eigen_route_equals_expm_route(monkeypatch):
    """All input kinds (bolus, infusion, SS trains of both, SS constant infusion via II=0) computed by the
    eigendecomposition agree with the matrix-exponential route (forced for every subject)."""
    model, ranges, _ = TWO_CMT_ORAL
    rng = np.random.default_rng(3)
    n = 25
    ev = _complex_events(rng, n)
    # a steady-state constant infusion and a long infusion train (duration several intervals)
    extra = pd.DataFrame([[n + 1, 0.0, 1, 0.0, 7.0, 2, 0.0, 0, 1], [n + 1, 1.0, 0, 0, 0, 2, 0, 0, 0],
                          [n + 1, 5.0, 1, 300.0, 10.0, 2, 6.0, 2, 2], [n + 1, 20.0, 0, 0, 0, 2, 0, 0, 0],
                          [n + 1, 36.5, 0, 0, 0, 2, 0, 0, 0]], columns=COLS)
    ev = pd.concat([ev, extra], ignore_index=True)
    sched, p = schedule_for(model, ev, random_params(rng, ranges, n + 1))
    assert (sched.inp_period > 0).any() and np.isneginf(sched.inp_time).any()
    assert ((sched.inp_period > 0) & (sched.inp_duration > sched.inp_period)).any()
    eig = closed_form_states(model, sched, p)
    monkeypatch.setattr(cf, "_GAP_TOL", 10.0)  # every subject "degenerate"
    ex = closed_form_states(model, sched, p)
    assert np.abs(eig).max() > 1
    np.testing.assert_allclose(eig, ex, rtol=1e-9, atol=1e-10)


def test_bolus_scan_equals_per_pair_evaluation(monkeypatch):
    """The one-exponential-per-output path (bolus groups) equals the per-pair evaluation."""
    model, ranges, _ = TWO_CMT_ORAL
    rng = np.random.default_rng(5)
    ev = random_events(rng, 30, [1, 2], 3, max_doses=9, n_obs=30)
    ev.loc[ev["EVID"] != 0, "RATE"] = 0.0  # boluses only
    sched, p = schedule_for(model, ev, random_params(rng, ranges, 30))
    fast = closed_form_states(model, sched, p)
    monkeypatch.setattr(cf, "_BOLUS_SCAN", False)
    slow = closed_form_states(model, sched, p)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk", [1, 5, 97])
def test_chunking_does_not_change_results(chunk, monkeypatch):
    """Any pair chunk size (down to one pair) gives the same states."""
    model, ranges, _ = TWO_CMT_ORAL
    rng = np.random.default_rng(9)
    ev = _complex_events(rng, 10)
    sched, p = schedule_for(model, ev, random_params(rng, ranges, 10))
    ref = closed_form_states(model, sched, p)
    np.testing.assert_array_equal(closed_form_states(model, sched, p, chunk_pairs=chunk), ref)
    monkeypatch.setattr(cf, "_GAP_TOL", 10.0)
    np.testing.assert_allclose(closed_form_states(model, sched, p, chunk_pairs=chunk),
                               closed_form_states(model, sched, p), rtol=0, atol=1e-12)


def test_output_order_is_free():
    """Outputs given in any order get the same values (rows follow the schedule's output order)."""
    model, ranges, _ = TWO_CMT_ORAL
    rng = np.random.default_rng(13)
    ev = _complex_events(rng, 8)
    sched, p = schedule_for(model, ev, random_params(rng, ranges, 8))
    ref = closed_form_states(model, sched, p)
    perm = rng.permutation(len(sched.out_unit))
    shuffled = dataclasses.replace(sched, out_unit=sched.out_unit[perm], out_time=sched.out_time[perm],
                                   out_key=sched.out_key[perm], out_row=sched.out_row[perm])
    np.testing.assert_array_equal(closed_form_states(model, shuffled, p), ref[perm])


def test_batch_equals_single_subjects():
    """A batch of subjects gives each subject's own solution (parameters indexed by unit_subject)."""
    model, ranges, _ = TWO_CMT_ORAL
    rng = np.random.default_rng(17)
    n = 6
    ev = _complex_events(rng, n)
    par = random_params(rng, ranges, n)
    sched, p = schedule_for(model, ev, par)
    batch = closed_form_states(model, sched, p)
    rows = []
    for i in range(n):
        e = ev[ev["ID"] == i + 1].reset_index(drop=True).assign(ID=1)
        s1, p1 = schedule_for(model, e, {k: v[i] for k, v in par.items()})
        rows.append(closed_form_states(model, s1, p1))
    np.testing.assert_allclose(batch, np.concatenate(rows), rtol=1e-13, atol=1e-13)


def test_outputs_are_indexed_by_each_outputs_subject():
    """closed_form_outputs applies each output's own subject parameters (CP = A_c/V, CM = A_m/VM)."""
    model = pk.ParentMetabolite()
    ev = pd.DataFrame([[1, 0, 1, 100, 0, 1, 0, 0, 0], [1, 2, 0, 0, 0, 2, 0, 0, 0],
                       [2, 0, 1, 100, 0, 1, 0, 0, 0], [2, 2, 0, 0, 0, 2, 0, 0, 0], [2, 3, 0, 0, 0, 2, 0, 0, 0]],
                      columns=COLS)
    par = {"V": [10.0, 40.0], "VM": [5.0, 20.0]}
    sched, p = schedule_for(model, ev, par)
    x = closed_form_states(model, sched, p)
    out = closed_form_outputs(model, sched, p)
    assert set(out) == {"CP", "CM"} and out["CP"].shape == (3,)
    np.testing.assert_allclose(out["CP"], x[:, 1] / np.array([10.0, 40.0, 40.0]), rtol=1e-15)
    np.testing.assert_allclose(out["CM"], x[:, 2] / np.array([5.0, 20.0, 20.0]), rtol=1e-15)


def test_empty_schedule_and_no_doses():
    model = pk.OneCompartment()
    ev = pd.DataFrame([[1, 0.0, 0, 0, 0, 1, 0, 0, 0], [1, 5.0, 0, 0, 0, 1, 0, 0, 0]], columns=COLS)
    sched, p = schedule_for(model, ev, {})
    np.testing.assert_array_equal(closed_form_states(model, sched, p), np.zeros((2, 1)))
    ev1 = pd.DataFrame([[1, 0.0, 1, 10, 0, 1, 0, 0, 0]], columns=COLS)
    sched, p = schedule_for(model, ev1, {})
    assert closed_form_states(model, sched, p).shape == (0, 1)


def test_batched_expm_matches_scipy_and_the_confluent_limit():
    """The batched Pade expm equals scipy's on dense matrices, and for the lower-triangular 2x2
    [[-ka, 0], [ka, -k]] t with ka = k (1 + 1e-12) gives the (2,1) entry ka t e^{-kt} (-expm1(-d t)/(d t)),
    d = ka - k, to 1e-13 (scipy's triangular branch loses ~11 digits there)."""
    rng = np.random.default_rng(2)
    M = rng.normal(size=(50, 4, 4)) * rng.uniform(0.01, 40, (50, 1, 1))
    ref = scipy.linalg.expm(M)
    np.testing.assert_allclose(cf._expm(M), ref, rtol=1e-11, atol=1e-13 * np.abs(ref).max())
    k = 0.1
    ka = k * (1 + 1e-12)
    d = ka - k
    t = np.array([0.0, 0.5, 72.0, 720.0])
    E = cf._expm(np.array([[[-ka, 0.0], [ka, -k]]]) * t[:, None, None])
    expected = ka * t * np.exp(-k * t) * np.where(t > 0, -np.expm1(-d * t) / np.where(t > 0, d * t, 1.0), 1.0)
    np.testing.assert_allclose(E[:, 1, 0], expected, rtol=1e-13)
    np.testing.assert_array_equal(E[0], np.eye(2))


class _Rotation(Model):
    """A linear model with complex eigenvalues (-0.1 +- i)."""

    states = ("X", "Y")
    linear = True

    def system_matrix(self, p):
        n = len(next(iter(p.values()))) if p else 1
        return np.broadcast_to(np.array([[-0.1, 1.0], [-1.0, -0.1]]), (n, 2, 2)).copy()


def test_complex_eigenvalues_raise():
    model = _Rotation()
    ev = pd.DataFrame([[1, 0.0, 1, 10, 0, 1, 0, 0, 0], [1, 5.0, 0, 0, 0, 1, 0, 0, 0]], columns=COLS)
    sched = compile_schedule(ev, model, np.zeros(2, int), model.dosing_matrices({}, 1),
                             output_mask=(ev["EVID"] == 0).to_numpy())
    with pytest.raises(ModelError, match="complex eigenvalues"):
        closed_form_states(model, sched, {"K": np.ones(1)})


# ---------------------------------------------------------------------------------------------- scale


def _benchmark_case(n, n_times=721, n_doses=3, seed=0):
    model = pk.TwoCompartmentOral()
    times = np.arange(n_times) * 0.1
    ids = np.repeat(np.arange(1, n + 1), n_doses + n_times)
    per = np.concatenate([np.arange(n_doses) * 24.0, times])
    evid = np.concatenate([np.ones(n_doses), np.zeros(n_times)])
    order = np.argsort(per, kind="stable")
    ev = pd.DataFrame({"ID": ids, "TIME": np.tile(per[order], n), "EVID": np.tile(evid[order], n).astype(int),
                       "AMT": np.tile(np.where(evid, 100.0, 0.0)[order], n), "RATE": 0.0,
                       "CMT": np.tile(np.where(evid, 1, 2)[order], n), "II": 0.0, "ADDL": 0, "SS": 0})
    rng = np.random.default_rng(seed)
    par = {"CL": 5 * np.exp(rng.normal(0, 0.3, n)), "V1": 20 * np.exp(rng.normal(0, 0.2, n)), "Q": 10.0,
           "V2": 50.0, "KA": np.exp(rng.normal(0, 0.3, n))}
    sched, p = schedule_for(model, ev, par)
    return model, sched, p


def test_100k_subjects():
    """100 000 subjects (a few outputs each) run in bounded blocks; spot checks equal single runs."""
    model, sched, p = _benchmark_case(100_000, n_times=4, n_doses=2)
    x = closed_form_states(model, sched, p, chunk_pairs=50_000)
    assert x.shape == (400_000, 3) and np.all(np.isfinite(x))
    for i in (0, 54_321, 99_999):
        ev1 = pd.DataFrame({"ID": 1, "TIME": [0.0, 0.0, 0.1, 0.2, 0.3, 24.0], "EVID": [1, 0, 0, 0, 0, 1],
                            "AMT": [100.0, 0, 0, 0, 0, 100.0], "RATE": 0.0, "CMT": [1, 2, 2, 2, 2, 1],
                            "II": 0.0, "ADDL": 0, "SS": 0})
        s1, p1 = schedule_for(model, ev1, {k: v[i] for k, v in p.items()})
        np.testing.assert_allclose(x[4 * i:4 * i + 4], closed_form_states(model, s1, p1), rtol=1e-13, atol=1e-13)


# ---------------------------------------------------------------------------------------------- compiled boluses


@pytest.mark.parametrize("model,ranges,dose_cmts", MODELS, ids=[m.name for m, _, _ in MODELS])
def test_compiled_boluses_match_the_reference_and_the_numpy_route(model, ranges, dose_cmts):
    """Estimation's route (a cache kept with the schedule) for boluses alone -- ADDL, lag, F, EVID 3/4, several dose
    compartments -- is :mod:`pkpd.engine._bolus_kernel`, triangular systems by substitution, the others by LAPACK:
    the sequential reference to 1e-9 and the numpy route to rounding."""
    rng = np.random.default_rng(17)
    ev = random_events(rng, 15, dose_cmts, len(model.states), max_doses=6)
    ev.loc[ev["EVID"] != 0, "RATE"] = 0.0
    sched, p = schedule_for(model, ev, random_params(rng, ranges, 15))
    cache = {}
    got = closed_form_states(model, sched, p, cache=cache)
    assert cache["boluses"] is not None                     # (the compiled route was taken)
    ref = reference_states(model, ev, p)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-11 * np.abs(ref).max())
    np.testing.assert_allclose(got, closed_form_states(model, sched, p), rtol=1e-12, atol=1e-13 * np.abs(ref).max())
    assert np.array_equal(got == 0, closed_form_states(model, sched, p) == 0)     # the same structural zeros


def test_compiled_boluses_leave_degenerate_subjects_and_infusions_to_numpy():
    """A repeated eigenvalue (KA = the disposition rate) or an infusion in the schedule: the numpy route's answer."""
    model = pk.OneCompartmentOral()
    rng = np.random.default_rng(2)
    ev = random_events(rng, 4, [1], 2)
    boluses = ev.assign(RATE=np.where(ev["EVID"] != 0, 0.0, ev["RATE"]))
    par = {"CL": 4.0, "V": 40.0, "KA": [0.1, 0.5, 1.0, 2.0]}             # subject 1: KA = CL / V
    for events, plan in ((boluses, True), (ev, False)):
        sched, p = schedule_for(model, events, par)
        cache = {}
        got = closed_form_states(model, sched, p, cache=cache)
        assert (cache["boluses"] is not None) == plan
        np.testing.assert_allclose(got, reference_states(model, events, p), rtol=1e-9, atol=1e-12)
