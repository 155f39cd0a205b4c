"""Exact closed-form solution of linear compartmental models under NONMEM-style dosing.

A linear model has ``dy/dt = A y + u(t)`` with ``A = model.system_matrix(p)`` (one ``S x S`` matrix per
subject). Its solution is a superposition over dose inputs of the response to each input, plus the free
decay of the initial state from the start of the unit (or the latest reset)::

    bolus q at tau = 0:          x(tau) = e^{A tau} e_c q
    infusion rate R, length D:   x(tau) = e^{A max(tau-D, 0)} Phi(min(tau, D)) e_c R,   Phi(h) = int_0^h e^{As} ds
    steady-state train:          sum over copies at tau_j = tau_0 + j P (geometric series)
    steady-state infusion:       x = -A^{-1} e_c R

With the eigendecomposition ``A = V diag(lam) V^{-1}`` every term is a sum of exponentials: an input into
compartment ``c`` contributes ``V (m(lam, tau) * V^{-1}[:, c])`` where ``m`` is one scalar function per
eigenvalue (``e^{lam tau}``, ``(e^{lam h} - 1)/lam`` ...). Contributions are accumulated in modal
coordinates per output and mapped back with ``V`` once per output.

Pairs. Inputs are sorted by (unit, effective start); the inputs an output sees form one contiguous range
(those that started before it and after the latest reset at or before it), found by bisection from the
few inputs and resets into the outputs. Outputs whose range holds only boluses (the common case) take one
exponential per eigenvalue from the latest bolus ``a``: ``m = e^{lam (t - t_a)} Z_a`` where
``Z_a = sum_i e^{lam (t_a - t_i)} w_i`` is computed once per input by a segmented scan. Other outputs
evaluate all their (output, input) pairs in padded blocks (``chunk_pairs`` bounds the block size).

Subjects whose eigenvectors are (nearly) degenerate -- e.g. ``KA == CL/V`` gives a repeated eigenvalue and
a defective ``A`` -- are computed by matrix exponentials instead (the batched :func:`_expm` of ``A tau`` and of
the augmented matrix ``[[A h, e_c h], [0, 0]]``, whose upper-right block is ``Phi(h) e_c``), which is exact
for any ``A``.

Which inputs an output sees (keys, resets, trains) is defined in :mod:`pkpd.engine._schedule`.
"""

from __future__ import annotations

import copy

import numpy as np

from ..errors import ModelError
from ._pade import PADE13, THETA13

__all__ = ["closed_form_states", "closed_form_outputs"]

# relative eigenvalue gap below which a subject is treated as degenerate (computed by expm)
_GAP_TOL = 1e-5
# bound on ||V||_F * ||V^-1||_F (an upper bound of cond_2(V)) above which a subject is degenerate
_COND_TOL = 1e9
# eigenvalues smaller than this (relative to the subject's largest) are exactly 0 (no elimination)
_ZERO_TOL = 1e-12
# imaginary parts larger than this (relative) are "significant"
_IMAG_TOL = 1e-8
# a steady-state copy arriving within this fraction of the period of the output is not yet arrived
_ARRIVAL_TOL = 1e-12
# evaluate outputs that see only boluses from the latest one (False: the general per-pair path; tests)
_BOLUS_SCAN = True
# pairs evaluated per working block (keeps temporaries in cache-friendly, reusable memory)
_WORK_PAIRS = 1 << 16

# input kinds
_BOLUS, _INFUSION, _TRAIN_BOLUS, _TRAIN_INFUSION, _SS_INFUSION = range(5)


def closed_form_states(model, schedule, p, *, chunk_pairs: int = 2_000_000, cache: dict | None = None) -> np.ndarray:
    """States (amounts) at each output request of ``schedule``.

    Parameters
    ----------
    model : Model
        A linear model (it implements ``system_matrix``).
    schedule : Schedule
        Compiled events (:func:`pkpd.engine._schedule.compile_schedule`).
    p : mapping of str to ndarray of shape (n_subjects,)
        Parameter values; ``schedule.unit_subject`` indexes their rows.
    chunk_pairs : int
        Upper bound on the number of (output, input) pairs evaluated at once (bounds memory).
    cache : dict, optional
        Kept by the caller with ``schedule`` (estimation evaluates one schedule at many parameter sets): the
        parameter-free sorting and search of the inputs and outputs is done once and stored there.

    Returns
    -------
    ndarray, shape (len(schedule.out_unit), n_states)
        Row ``i`` holds the states at output request ``i`` of the schedule (``schedule.out_row[i]`` is its
        position in the caller's request).

    Raises
    ------
    ModelError
        If the system matrix has significantly complex eigenvalues, or a steady-state dose reaches a
        compartment without elimination (no steady state exists).
    """
    S = len(model.states)
    n_out = len(schedule.out_unit)
    states = np.zeros((n_out, S))
    if n_out == 0:
        return states
    chunk_pairs = max(int(chunk_pairs), 1)
    A = np.asarray(model.system_matrix(p), dtype=float)
    if A.ndim != 3 or A.shape[1:] != (S, S):
        raise ModelError(f"{model.name}.system_matrix returned shape {A.shape}, expected (n, {S}, {S})")
    n_subj = A.shape[0]
    x0 = np.broadcast_to(np.asarray(model.initial_state(p), dtype=float), (n_subj, S))
    has_x0 = bool(np.any(x0 != 0))
    if cache is not None and not has_x0 and _numba():
        compiled = _compiled_boluses(model, schedule, A, cache)
        if compiled is not None:
            return compiled
    lam, V, W, deg = _decompose(model, A)

    ctx = _prepare(schedule, lam, W, deg, cache)
    out_subj = np.asarray(schedule.unit_subject)[schedule.out_unit]
    out_t = np.asarray(schedule.out_time, dtype=float)
    out_k = np.asarray(schedule.out_key, dtype=float)
    if cache is None:
        lo, hi, t_ref = _candidate_ranges(schedule, ctx, out_t, out_k)
    else:
        if "ranges" not in cache:
            cache["ranges"] = _candidate_ranges(schedule, ctx, out_t, out_k)
        lo, hi, t_ref = cache["ranges"]
    cnt = hi - lo
    anchor = hi - 1
    z0 = np.einsum("nij,nj->ni", W, x0) if has_x0 else None
    work = min(chunk_pairs, _WORK_PAIRS)

    out_deg = deg[out_subj]
    any_deg = bool(out_deg.any())
    # outputs whose visible inputs are all boluses: one exponential per output from the latest input
    fast = (cnt > 0) & ctx.group_bolus[np.maximum(anchor, 0)] if ctx.n else np.zeros(n_out, bool)
    if not _BOLUS_SCAN:
        fast[:] = False
    if any_deg:
        fast &= ~out_deg
    fast |= (cnt == 0) & ~out_deg
    if fast.all():
        fast_blocks = [slice(s, min(s + work, n_out)) for s in range(0, n_out, work)]
    else:
        f_idx = np.nonzero(fast)[0]
        fast_blocks = [f_idx[s:s + work] for s in range(0, len(f_idx), work)]
    for o in fast_blocks:
        subj = out_subj[o]
        lam_o = np.take(lam, subj, axis=0)
        if ctx.n:
            a = anchor[o]
            empty = cnt[o] == 0
            a = np.maximum(a, 0)
            modal = np.take(ctx.Z, a, axis=0)
            e = lam_o * (out_t[o] - ctx.time[a])[:, None]
            np.exp(e, out=e)
            modal *= e
            if empty.any():
                modal[empty] = 0.0
        else:
            modal = np.zeros((len(subj), S))
        if has_x0:
            modal += np.exp(lam_o * (out_t[o] - t_ref[o])[:, None]) * z0[subj]
        states[o] = np.einsum("nij,nj->ni", np.take(V, subj, axis=0), modal)

    # ---- other eigen-route outputs: padded blocks of width K, grouped by their number of inputs
    slow = ~fast & ~out_deg
    if slow.any():
        eig_out = np.nonzero(slow)[0]
        c = cnt[eig_out]
        # class j: 2**(j-2) < count <= 2**(j-1) (padding wastes less than half)
        cls = np.frexp(c - 1)[1] + 1
        for v in np.nonzero(np.bincount(cls))[0]:
            sel = eig_out[cls == v]
            K = int(cnt[sel].max())
            step = max(1, work // K)
            for s in range(0, len(sel), step):
                o = sel[s:s + step]
                subj = out_subj[o]
                modal = _eigen_block(ctx, lam, o, K, lo, hi, subj, out_t)
                if has_x0:
                    modal += np.exp(lam[subj] * (out_t[o] - t_ref[o])[:, None]) * z0[subj]
                states[o] = np.einsum("nij,nj->ni", np.take(V, subj, axis=0), modal)

    # ---- expm route for degenerate subjects (rare: a Python loop over their output chunks is fine)
    if any_deg:
        deg_out = np.nonzero(out_deg)[0]
        c = cnt[deg_out]
        ends = np.cumsum(c)
        first = 0
        while first < len(deg_out):
            base = ends[first] - c[first]
            last = max(int(np.searchsorted(ends, base + work, side="right")), first + 1)
            o = deg_out[first:last]
            first = last
            co = cnt[o]
            po = np.repeat(o, co)
            pi = np.repeat(lo[o] - (np.cumsum(co) - co), co) + np.arange(len(po))
            if len(po):
                np.add.at(states, po, _expm_pairs(ctx, A, po, pi, out_subj, out_t))
        if has_x0:
            o = deg_out
            E = _expm(A[out_subj[o]] * (out_t[o] - t_ref[o])[:, None, None])
            states[o] += np.einsum("nij,nj->ni", E, x0[out_subj[o]])
    if ctx.n or has_x0:
        _structural_zeros(states, A, ctx, lo, hi, out_t, out_subj, x0 if has_x0 else None, t_ref, cache)
    return states


def _compiled_boluses(model, schedule, A, cache):
    """The states of a schedule of boluses alone by :func:`bolus_scan` (estimation, whose ``cache`` keeps what does
    not depend on the parameters); None for other schedules and where a subject is degenerate or has complex
    eigenvalues (the numpy route then handles or reports it)."""
    plan = bolus_plan(schedule, cache)
    states = None if plan is None else bolus_scan(A, plan)
    if states is not None:
        lo, hi, t_ref = cache["ranges"]
        _structural_zeros(states, A, cache["structure"], lo, hi, plan[6], plan[5], None, t_ref, cache)
    return states


def bolus_plan(schedule, cache: dict):
    """The arguments of :func:`pkpd.engine._bolus_kernel.bolus_states` that depend on ``schedule`` alone, kept in
    ``cache`` with its sorted inputs (``"structure"``) and each output's range of them (``"ranges"``): per input, in
    scan order, its subject, compartment, amount, time and the first input of its group; per output, its subject,
    time and the latest input it sees (-1: none). None unless every input is a bolus."""
    if "boluses" not in cache:
        ctx = cache.setdefault("structure", _structure(schedule))
        plan = None
        if ctx.n and ctx.single_kind == _BOLUS and _BOLUS_SCAN:
            out_t = np.asarray(schedule.out_time, dtype=float)
            if "ranges" not in cache:
                cache["ranges"] = _candidate_ranges(schedule, ctx, out_t, np.asarray(schedule.out_key, dtype=float))
            lo, hi, t_ref = cache["ranges"]
            plan = (np.ascontiguousarray(ctx.subj, dtype=np.int64), np.ascontiguousarray(ctx.cmt, dtype=np.int64),
                    np.ascontiguousarray(ctx.q, dtype=float), np.ascontiguousarray(ctx.time, dtype=float),
                    np.ascontiguousarray(ctx.g_lo, dtype=np.int64),
                    np.ascontiguousarray(np.asarray(schedule.unit_subject)[schedule.out_unit], dtype=np.int64),
                    out_t, np.where(hi > lo, hi - 1, -1).astype(np.int64))
        cache["boluses"] = plan
    return cache["boluses"]


def bolus_scan(A, plan, flows=None):
    """The states at the outputs of a :func:`bolus_plan` for the system matrices ``A`` (subjects, S, S), compiled
    (:func:`pkpd.engine._bolus_kernel.bolus_states`); None where an entry of ``A`` is not finite, a subject is
    degenerate or has complex eigenvalues (the numpy route handles or reports them). No structural zeros are set.
    ``flows``: ``(A != 0).any(axis=0)``, when the caller has it."""
    global _bolus_states
    if _bolus_states is None:
        from ._bolus_kernel import bolus_states as _bolus_states
    A = np.ascontiguousarray(A, dtype=float)
    flows = (A != 0).any(axis=0) if flows is None else flows
    if any(flows[i, i + 1:].any() for i in range(len(flows))):     # not a chain of compartments: numpy's eig
        if not np.all(np.isfinite(A)):                              # (the numpy route says where)
            return None
        lam, V = np.linalg.eig(A)
        if np.iscomplexobj(lam):                                    # (complex eigenvalues: the numpy route)
            return None
        lam, V = np.ascontiguousarray(lam), np.ascontiguousarray(V)
    else:
        lam, V = _NO_EIGEN
    states = np.empty((len(plan[5]), A.shape[1]))
    if not _bolus_states(A, lam, V, *plan, states, _TOLERANCES):
        return None
    return states


#: :func:`pkpd.engine._bolus_kernel.bolus_states` once imported (numba compiles or loads it), its arguments for a
#: chain of compartments (no eigensystem given) and the tolerances of :func:`_decompose`
_bolus_states = None
_NO_EIGEN = np.empty((0, 0)), np.empty((0, 0, 0))
_TOLERANCES = (_ZERO_TOL, _GAP_TOL, _COND_TOL)


def _structural_zeros(states, A, ctx, lo, hi, out_t, out_subj, x0, t_ref, cache=None):
    """Set to 0 each output's states that no drug can have reached (in place), :func:`empty_states`."""
    rows, keep = empty_states(A, ctx, lo, hi, out_t, out_subj, x0, t_ref, cache)
    if rows is not None:
        states[rows] = np.where(keep, states[rows], 0.0)


def empty_states(A, ctx, lo, hi, out_t, out_subj, x0, t_ref, cache=None, flows=None):
    """``(rows, keep)``: the outputs with a state no drug can have reached, and which of their states can hold drug;
    ``(None, None)`` when there are too many conditions to code.

    A compartment holds drug at an output only if an input or the initial state reaches it: an input that arrived
    before the output (or a steady-state train) reaches every compartment downstream of its own (a flow ``i -> j``
    where ``A[j, i] != 0`` for some subject), a bolus at the output's own time only its compartment, an infusion
    starting then none; a nonzero initial state its own compartment, and downstream of it once time has passed.
    Elsewhere the exact value is 0, and is set to 0 so that the modal route's rounding (``V V^-1 != I`` in the last
    bits) leaves no 1e-16 residue: e.g. the central compartment at the time of an oral dose, which a control
    stream's ``IF (F.GT.0)`` tests. Outputs are coded by which of these conditions hold; only rows whose code
    leaves a state empty are touched. Without an initial state the answer depends on the schedule and the flow
    graph only, so it is kept in ``cache`` (estimation asks at every evaluation). ``flows``: ``(A != 0).any(axis=0)``,
    when the caller has it.
    """
    if cache is not None:                  # (the closure depends on the pattern of flows alone)
        pattern = ("reach", ((A != 0).any(axis=0) if flows is None else flows).tobytes())
        if pattern not in cache:
            cache[pattern] = _reach(A)
        reach = cache[pattern]
    else:
        reach = _reach(A)
    key = ("structural_zeros", reach.tobytes())
    if x0 is None and cache is not None and key in cache:          # estimation: the same answer at every call
        return cache[key]
    rows, keep = _empty_states(reach, ctx, lo, hi, out_t, out_subj, x0, t_ref)
    if x0 is None and cache is not None:
        cache[key] = rows, keep
    return rows, keep


def _empty_states(reach, ctx, lo, hi, out_t, out_subj, x0, t_ref):
    """:func:`empty_states` for the closure ``reach`` of the flow graph (:func:`_reach`)."""
    S = reach.shape[0]
    seen = []                                     # (outputs it holds for, states it reaches) per condition
    if ctx.n:
        for c, (downstream, itself) in _inputs_seen(ctx, lo, hi, out_t).items():
            seen += [(downstream, reach[:, c]), (itself, np.arange(S) == c)]
    if x0 is not None:                            # the initial state reaches downstream of it once time passes
        nonzero = x0[out_subj] != 0
        later = out_t > t_ref
        for i in np.nonzero(nonzero.any(axis=0))[0]:
            seen += [(nonzero[:, i] & later, reach[:, i]), (nonzero[:, i] & ~later, np.arange(S) == i)]
    if len(seen) > 20:                            # more conditions than a small table holds: set no zeros
        return None, None
    # outputs coded by which conditions hold (few distinct codes): the support of each code, once
    code = np.zeros(len(out_t), np.int64)
    for k, (holds, _) in enumerate(seen):
        code |= holds.astype(np.int64) << k
    codes = np.flatnonzero(np.bincount(code, minlength=1))  # the codes present (a sort would cost more)
    support = np.ones((int(code.max()) + 1, S), bool)
    support[codes] = False
    for k, (_, states_reached) in enumerate(seen):
        support[codes[((codes >> k) & 1).astype(bool)]] |= states_reached
    rows = np.nonzero(~support.all(axis=1)[code])[0]        # most outputs see drug wherever it can go
    return rows, support[code[rows]]


def _reach(A) -> np.ndarray:
    """``reach[j, i]``: state ``j`` is ``i`` or downstream of it in any subject's ``A`` (``A[j, i] != 0`` is a flow
    ``i -> j``), by transitive closure (repeated squaring)."""
    S = A.shape[-1]
    reach = np.eye(S, dtype=bool) | (A != 0).reshape(-1, S, S).any(axis=0)
    for _ in range(max(1, int(np.ceil(np.log2(S))))):
        reach = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
    return reach


def _inputs_seen(ctx, lo, hi, out_t):
    """Per dosed compartment ``c``, which outputs see an input that has reached downstream of ``c`` (arrived
    before them, or a steady-state train) and which a bolus into ``c`` at their own time (:func:`_structural_zeros`);
    parameter-free, so kept with the schedule."""
    # the first input at the output's time or later: only the last visible inputs can be (rare: search those)
    now = hi.copy()
    same = np.nonzero((hi > lo) & (ctx.eff_t[np.maximum(hi - 1, 0)] >= out_t))[0]
    if len(same):
        now[same] = _lex_search(ctx.eff_t, ctx.eff_k, lo[same], hi[same], out_t[same], np.full(len(same), -np.inf))
    steady = ctx.kind >= _TRAIN_BOLUS
    seen = {}
    for c in np.unique(ctx.cmt):
        into = ctx.cmt == c
        total = np.concatenate([[0], np.cumsum(into)])
        train = np.concatenate([[0], np.cumsum(into & steady)])
        bolus = np.concatenate([[0], np.cumsum(into & (ctx.kind == _BOLUS))])
        seen[int(c)] = ((total[now] > total[lo]) | (train[hi] > train[now]), bolus[hi] > bolus[now])
    return seen


def closed_form_outputs(model, schedule, p) -> dict[str, np.ndarray]:
    """Model outputs (e.g. ``CP``) at each output request of ``schedule``.

    Returns ``model.output(states, p_out)`` where ``states`` is :func:`closed_form_states` and ``p_out``
    holds each output's subject's parameters (arrays of shape ``(n_out,)``).
    """
    states = closed_form_states(model, schedule, p)
    subj = schedule.unit_subject[schedule.out_unit]
    p_out = {k: np.asarray(v)[subj] for k, v in p.items()}
    return model.output(states, p_out)


# ------------------------------------------------------------------------------------------------
# eigendecomposition


def _decompose(model, A):
    """Eigenvalues (real), V, V^-1 per subject and a mask of degenerate subjects (zeros in W there)."""
    n, S, _ = A.shape
    if not np.all(np.isfinite(A)):
        raise ModelError(f"{model.name}: the system matrix has non-finite entries")
    lam_c, V_c = np.linalg.eig(A)
    scale = np.abs(lam_c).max(axis=1, keepdims=True)  # (n, 1)
    # snap (numerically) zero eigenvalues to exactly 0
    lam_c = np.where(np.abs(lam_c) <= _ZERO_TOL * scale, 0.0, lam_c)
    deg = np.zeros(n, dtype=bool)
    if S > 1:
        d = np.abs(lam_c[:, :, None] - lam_c[:, None, :])
        m = np.maximum(np.abs(lam_c[:, :, None]), np.abs(lam_c[:, None, :]))
        close = d <= _GAP_TOL * m
        close[:, np.arange(S), np.arange(S)] = False
        deg = close.any(axis=(1, 2))
    imag = np.abs(np.imag(lam_c)) > _IMAG_TOL * np.maximum(scale, np.finfo(float).tiny)
    bad = imag.any(axis=1) & ~deg
    if bad.any():
        i = int(np.argmax(bad))
        raise ModelError(
            f"{model.name}: the system matrix of subject row {i} has complex eigenvalues {lam_c[i]}; "
            "the closed form supports real eigenvalues only (use the ODE engine)"
        )
    lam = np.real(lam_c).copy()
    V = np.real(V_c).copy()
    if S > 1:
        det = np.abs(np.linalg.det(V))
        deg |= ~(det > 1e-12)
    W = np.zeros_like(V)
    ok = ~deg
    if ok.any():
        W[ok] = np.linalg.inv(V[ok])
        cond = np.linalg.norm(V[ok], axis=(1, 2)) * np.linalg.norm(W[ok], axis=(1, 2))
        worse = ~(cond <= _COND_TOL)
        if worse.any():
            idx = np.nonzero(ok)[0][worse]
            deg[idx] = True
            W[idx] = 0.0
    V[deg] = 0.0
    return lam, V, W, deg


# ------------------------------------------------------------------------------------------------
# inputs and candidate pairs


class _Ctx:
    """Inputs sorted by (unit, effective start), with per-unit ranges, resets and bolus-group sums."""


def _prepare(sch, lam, W, deg, cache=None):
    """The inputs of ``sch`` in scan order with their modal weights and bolus-group sums. The parameter-free part
    (:func:`_structure`) is taken from ``cache`` (a dict kept with the schedule) when given."""
    if cache is None:
        ctx = _structure(sch)
    else:
        if "structure" not in cache:
            cache["structure"] = _structure(sch)
        ctx = copy.copy(cache["structure"])  # the weights below are the caller's own
    n = ctx.n
    # modal weight of each input: V^-1 e_c * q (zeros for degenerate subjects)
    ctx.w = W[ctx.subj, :, ctx.cmt] * ctx.q[:, None]
    ctx.Z = _bolus_scan(ctx, lam) if n else np.zeros((0, lam.shape[1]))
    _check_steady_state(ctx, lam, deg)
    return ctx


def _structure(sch):
    """What :func:`_prepare` needs of the schedule alone: inputs sorted by (unit, effective start), their kinds,
    per-unit ranges, resets and groups."""
    ctx = _Ctx()
    it = np.asarray(sch.inp_time, dtype=float)
    ik = np.asarray(sch.inp_key, dtype=float)
    ft = np.asarray(sch.inp_from_time, dtype=float)
    fk = np.nextafter(np.asarray(sch.inp_from_key, dtype=float), -np.inf)  # from <= q  <=>  from' < q
    period = np.asarray(sch.inp_period, dtype=float)
    dur = np.asarray(sch.inp_duration, dtype=float)
    ut = np.asarray(sch.inp_until_time, dtype=float)
    uk = np.asarray(sch.inp_until_key, dtype=float)
    ss_inf = np.isneginf(it)
    train = (period > 0) & ~ss_inf
    steady = train | ss_inf
    # effective start: an input is visible at q = (t, k) iff eff < q < until. For a train, copies that
    # have not arrived yet contribute nothing, so it starts at its source record ("from").
    later = (ft > it) | ((ft == it) & (fk > ik))
    use_from = steady | later
    eff_t = np.where(use_from, ft, it)
    eff_k = np.where(use_from, fk, ik)
    # inputs cut before they start (e.g. ADDL copies after a reset) are never visible: drop them
    live = (eff_t < ut) | ((eff_t == ut) & (eff_k < uk))
    unit = np.asarray(sch.inp_unit, dtype=np.int64)
    keep = np.nonzero(live)[0]
    order = keep[np.lexsort((eff_k[keep], eff_t[keep], unit[keep]))]
    ctx.n = n = len(order)
    ctx.unit = unit[order]
    ctx.eff_t, ctx.eff_k = eff_t[order], eff_k[order]
    ctx.time = it[order]
    ctx.cmt = np.asarray(sch.inp_cmt, dtype=np.int64)[order]
    ctx.dur = dur[order]
    ctx.period = period[order]
    kind = np.full(len(it), _BOLUS, dtype=np.int8)
    kind[(dur > 0) & ~steady] = _INFUSION
    kind[train & (dur == 0)] = _TRAIN_BOLUS
    kind[train & (dur > 0)] = _TRAIN_INFUSION
    kind[ss_inf] = _SS_INFUSION
    ctx.kind = kind[order]
    present = np.unique(ctx.kind)
    ctx.single_kind = present[0] if len(present) == 1 else None
    ctx.subj = np.asarray(sch.unit_subject)[ctx.unit]
    rate = np.asarray(sch.inp_rate, dtype=float)[order]
    amount = np.asarray(sch.inp_amount, dtype=float)[order]
    ctx.q = np.where(ctx.dur > 0, rate, amount)  # rate for infusions, amount for boluses
    n_units = sch.n_units
    units = np.arange(n_units)
    ctx.u_lo = np.searchsorted(ctx.unit, units, side="left")
    ctx.u_hi = np.searchsorted(ctx.unit, units, side="right")
    # resets, sorted by (unit, time, key)
    r_unit = np.asarray(sch.reset_unit, dtype=np.int64)
    r_t = np.asarray(sch.reset_time, dtype=float)
    r_k = np.asarray(sch.reset_key, dtype=float)
    ro = np.lexsort((r_k, r_t, r_unit))
    ctx.r_unit, ctx.r_t, ctx.r_k = r_unit[ro], r_t[ro], r_k[ro]
    ctx.r_lo = np.searchsorted(ctx.r_unit, units, side="left")
    ctx.r_hi = np.searchsorted(ctx.r_unit, units, side="right")
    # group of each input: the inputs of its unit after the latest reset before it
    g_lo = ctx.u_lo[ctx.unit].copy()
    if len(ctx.r_unit) and n:
        ridx = _lex_search(ctx.r_t, ctx.r_k, ctx.r_lo[ctx.unit], ctx.r_hi[ctx.unit], ctx.eff_t, ctx.eff_k)
        has = ridx > ctx.r_lo[ctx.unit]
        if has.any():
            h = np.nonzero(has)[0]
            r = ridx[h] - 1
            g_lo[h] = _lex_search(ctx.eff_t, ctx.eff_k, ctx.u_lo[ctx.r_unit[r]], ctx.u_hi[ctx.r_unit[r]],
                                  ctx.r_t[r], ctx.r_k[r], side="right")
    ctx.g_lo = g_lo
    # bolus groups: Z_a = sum_{i in [g_lo_a, a]} e^{lam (t_a - t_i)} w_i (Hillis-Steele scan)
    non_bolus = np.cumsum(ctx.kind != _BOLUS)
    before = np.where(g_lo > 0, non_bolus[np.maximum(g_lo - 1, 0)], 0)
    ctx.group_bolus = (non_bolus - before) == 0 if n else np.zeros(0, bool)
    return ctx


def _bolus_scan(ctx, lam):
    """Modal state just after each input of an all-bolus group (segmented scan over the group)."""
    Z = ctx.w.copy()
    idx_all = np.nonzero(ctx.group_bolus)[0]
    pos = idx_all - ctx.g_lo[idx_all]  # position within the group
    d = 1
    while True:
        sel = pos >= d
        if not sel.any():
            break
        idx = idx_all[sel]
        src = idx - d
        e = np.exp(lam[ctx.subj[idx]] * (ctx.time[idx] - ctx.time[src])[:, None])
        Z[idx] = Z[idx] + e * Z[src]  # right side is evaluated before the assignment (old Z)
        d *= 2
    return Z


def _check_steady_state(ctx, lam, deg):
    """A steady-state input exciting a mode with eigenvalue >= 0 has no steady state."""
    st = np.nonzero((ctx.kind >= _TRAIN_BOLUS) & ~deg[ctx.subj])[0]
    if not len(st):
        return
    w = np.abs(ctx.w[st])
    excited = w > 1e-10 * w.max(axis=1, keepdims=True)
    bad = (excited & (lam[ctx.subj[st]] >= 0)).any(axis=1)
    if bad.any():
        i = st[int(np.argmax(bad))]
        raise ModelError(
            f"no steady state: compartment without elimination (a steady-state dose into compartment "
            f"{ctx.cmt[i] + 1} reaches a mode with eigenvalue {lam[ctx.subj[i]].max():g} >= 0)"
        )


def _lex_search(kt, kk, lo, hi, qt, qk, side="left"):
    """Vectorised bisection within ``[lo, hi)`` on lexicographically sorted keys ``(kt, kk)``.

    ``side="left"``: first index whose key is ``>= (qt, qk)``; ``"right"``: first index ``> (qt, qk)``.
    """
    lo = np.array(lo, dtype=np.int64, copy=True)
    hi = np.array(hi, dtype=np.int64, copy=True)
    idx = np.nonzero(lo < hi)[0]
    while len(idx):
        l, h = lo[idx], hi[idx]
        mid = (l + h) >> 1
        mt, mk, t, k = kt[mid], kk[mid], qt[idx], qk[idx]
        if side == "left":
            right = (mt < t) | ((mt == t) & (mk < k))
        else:
            right = (mt < t) | ((mt == t) & (mk <= k))
        l = np.where(right, mid + 1, l)
        h = np.where(right, h, mid)
        lo[idx], hi[idx] = l, h
        idx = idx[l < h]
    return lo


def _lex_sorted(u, t, k):
    """Whether ``(u, t, k)`` is sorted lexicographically (non-decreasing)."""
    if len(u) < 2:
        return True
    du, dt, dk = np.diff(u), t[1:] - t[:-1], k[1:] >= k[:-1]
    with np.errstate(invalid="ignore"):
        return bool(np.all((du > 0) | ((du == 0) & ((dt > 0) | ((t[1:] == t[:-1]) & dk)))))


def _candidate_ranges(sch, ctx, out_t, out_k):
    """For each output: inputs ``[lo, hi)`` (sorted order) that may be visible, and the reference time of x0.

    Visible inputs start before the output (``eff < (t, k)``) and after the latest reset at or before it
    (an input whose source record precedes that reset is cut by it). Inputs that start after their own
    cut were dropped, so every input in the range is visible: no per-pair masks are needed.

    The searches run from the (few) inputs and resets into the outputs sorted by (unit, time, key): for
    each input, the first output of its unit that is later than it; a cumulative count then gives, for
    every output, the number of inputs (of its unit and all earlier units) that precede it.
    """
    u = np.asarray(sch.out_unit, dtype=np.int64)
    n_out = len(u)
    if _lex_sorted(u, out_t, out_k):
        perm = None
        su, st, sk = u, out_t, out_k
    else:
        perm = np.lexsort((out_k, out_t, u))
        su, st, sk = u[perm], out_t[perm], out_k[perm]
    units = np.arange(sch.n_units)
    o_lo = np.searchsorted(su, units, side="left")
    o_hi = np.searchsorted(su, units, side="right")
    # inputs: first output of the unit with (t, k) > eff  (the input is a candidate from there on)
    pos = _lex_search(st, sk, o_lo[ctx.unit], o_hi[ctx.unit], ctx.eff_t, ctx.eff_k, side="right")
    hi = np.cumsum(np.bincount(pos, minlength=n_out + 1))[:n_out]
    lo = ctx.u_lo[su]
    t_ref = np.asarray(sch.unit_start, dtype=float)[su]
    if len(ctx.r_unit):
        # resets: first output at or after each; the latest reset at or before an output is the last
        # counted one (an input is cut at its reset: ``q < until`` is required to see it)
        rpos = _lex_search(st, sk, o_lo[ctx.r_unit], o_hi[ctx.r_unit], ctx.r_t, ctx.r_k, side="left")
        last = np.cumsum(np.bincount(rpos, minlength=n_out + 1))[:n_out] - 1
        has = last >= ctx.r_lo[su]
        if has.any():
            h = np.nonzero(has)[0]
            r = last[h]
            # first input of the reset's unit starting after the reset
            r_first = _lex_search(ctx.eff_t, ctx.eff_k, ctx.u_lo[ctx.r_unit], ctx.u_hi[ctx.r_unit],
                                  ctx.r_t, ctx.r_k, side="right")
            lo = lo.copy()
            t_ref = t_ref.copy()
            lo[h] = r_first[r]
            t_ref[h] = ctx.r_t[r]
    lo = np.minimum(lo, hi)
    if perm is not None:
        lo_, hi_, tr_ = np.empty_like(lo), np.empty_like(hi), np.empty_like(t_ref)
        lo_[perm], hi_[perm], tr_[perm] = lo, hi, t_ref
        lo, hi, t_ref = lo_, hi_, tr_
    return lo, hi, t_ref


# ------------------------------------------------------------------------------------------------
# modal response functions (lam: (..., S); other arguments broadcast as (..., 1))


def _phi1(lam, h):
    """``(e^{lam h} - 1) / lam = int_0^h e^{lam s} ds``, equal to ``h`` at ``lam = 0``."""
    zero = lam == 0
    safe = np.where(zero, 1.0, lam)
    return np.where(zero, h, np.expm1(lam * h) / safe)


def _geom(lam, P):
    """``1 / (1 - e^{lam P})`` (0 for modes with lam >= 0, which are checked not to be excited)."""
    g = -np.expm1(lam * P)
    with np.errstate(divide="ignore"):
        return np.where(g > 0, 1.0 / np.where(g > 0, g, 1.0), 0.0)


def _first_arrived(tau, P):
    """Index ``j0 >= 0`` of the first copy ``tau + j P`` that has arrived (``> 0``)."""
    j0 = np.floor(-tau / P + _ARRIVAL_TOL) + 1.0
    return np.maximum(j0, 0.0)


def _running_range(tau, D, P):
    """First arrived copy ``j0``, first finished copy ``j1`` (``tau + j1 P >= D``) of an infusion train."""
    j0 = _first_arrived(tau, P)
    j1 = np.maximum(j0, np.ceil((D - tau) / P))
    return j0, j1


def _modal_factor(kind, lam, tau, D, P):
    """Per-eigenvalue response of one input (per unit amount or rate); ``D``, ``P`` are callables (lazy)."""
    if kind == _BOLUS:
        f = lam * tau
        return np.exp(f, out=f)
    if kind == _INFUSION:
        D = D()
        return _phi1(lam, np.minimum(tau, D)) * np.exp(lam * np.maximum(tau - D, 0.0))
    if kind == _TRAIN_BOLUS:
        P = P()
        j0 = _first_arrived(tau, P)
        return np.exp(lam * (tau + j0 * P)) * _geom(lam, P)
    if kind == _TRAIN_INFUSION:
        D, P = D(), P()
        j0, j1 = _running_range(tau, D, P)
        f = _phi1(lam, D) * np.exp(lam * np.maximum(tau + j1 * P - D, 0.0)) * _geom(lam, P)
        n_run = j1 - j0
        for r in range(int(n_run.max()) if n_run.size else 0):
            tr = np.where(r < n_run, tau + (j0 + r) * P, 0.0)
            f = f + _phi1(lam, tr)  # zero where not running (tr = 0)
        return f
    if kind == _SS_INFUSION:
        neg = lam < 0
        f = np.where(neg, -1.0 / np.where(neg, lam, -1.0), 0.0)
        return np.broadcast_to(f, np.broadcast_shapes(lam.shape, tau.shape))
    raise AssertionError(kind)


def _eigen_block(ctx, lam, o, K, lo, hi, subj, out_t):
    """Modal sums for outputs ``o`` (subjects ``subj``) with 1..K visible inputs: shape (len(o), S)."""
    n = len(o)
    lo_o, hi_o = lo[o], hi[o]
    j = np.arange(K)
    pi = lo_o[:, None] + j
    valid = j < (hi_o - lo_o)[:, None]
    all_valid = bool(valid.all())
    if not all_valid:
        pi = np.minimum(pi, (hi_o - 1)[:, None])
    lam_o = np.take(lam, subj, axis=0)  # (n, S)
    tau = out_t[o][:, None] - np.take(ctx.time, pi)  # (n, K)
    w = np.take(ctx.w, pi, axis=0)  # (n, K, S)
    kinds = np.take(ctx.kind, pi)
    kind = kinds.flat[0]
    if ctx.single_kind is not None or (kinds == kind).all():
        f = _modal_factor(kind, lam_o[:, None, :], tau[:, :, None],
                          lambda: np.take(ctx.dur, pi)[:, :, None], lambda: np.take(ctx.period, pi)[:, :, None])
        if not all_valid:
            f = f * valid[:, :, None]
        return np.einsum("nks,nks->ns", f, w)
    f = np.zeros((n, K, lam.shape[1]))
    rows = np.broadcast_to(np.arange(n)[:, None], (n, K))
    for kind in np.unique(kinds[valid]):
        sel = valid & (kinds == kind)
        r, pp, tt = rows[sel], pi[sel], tau[sel]
        f[sel] = _modal_factor(kind, lam_o[r], tt[:, None],
                               lambda: ctx.dur[pp][:, None], lambda: ctx.period[pp][:, None])
    return np.einsum("nks,nks->ns", f, w)


# ------------------------------------------------------------------------------------------------
# matrix-exponential route (degenerate subjects), pairs in state space




def _numba() -> bool:
    """Whether numba is installed: then :mod:`pkpd.engine._expm_kernel` computes :func:`_expm`, and
    :mod:`pkpd.engine._bolus_kernel` the states of estimation's bolus schedules."""
    from ._compiled import available

    return available()


def _expm(M):
    """``expm`` of a stack of matrices ``(m, n, n)``, vectorised over the stack (compiled by numba where it is
    installed, :mod:`pkpd.engine._expm_kernel`: the same algorithm per matrix, with Higham's lower degrees 3-9
    below their norm bounds, on threads for large stacks).

    Scaling and squaring with the [13/13] Pade approximant (Higham 2005, Algorithm 2.3), in batched
    numpy: scipy.linalg.expm loops over a stack in Python (~0.1 ms per 3x3 matrix here), and its special
    case for triangular matrices evaluates ``(e^a - e^b)/(a - b)`` without guarding against cancellation
    (for the lower-triangular one-compartment oral matrix with ``KA = k (1 + 1e-12)`` the central entry is
    wrong in the 5th digit). Zero matrices give exactly the identity.
    """
    M = np.asarray(M, dtype=float)
    n = M.shape[-1]
    eye = np.eye(n)
    if M.shape[0] == 0:
        return np.empty_like(M)
    if _numba():
        from ._compiled import run_ranges
        from ._expm_kernel import expm_range

        M, out = np.ascontiguousarray(M), np.empty_like(M)
        run_ranges(lambda first, last: expm_range(M, out, first, last), len(M), per_thread=512)
        return out
    norm1 = np.abs(M).sum(axis=-2).max(axis=-1)
    with np.errstate(divide="ignore"):
        s = np.where(norm1 > THETA13, np.ceil(np.log2(norm1 / THETA13)), 0.0).astype(np.int64)
    X = M * np.ldexp(1.0, -s)[:, None, None]
    b = PADE13
    X2 = X @ X
    X4 = X2 @ X2
    X6 = X4 @ X2
    U = X @ (X6 @ (b[13] * X6 + b[11] * X4 + b[9] * X2) + b[7] * X6 + b[5] * X4 + b[3] * X2 + b[1] * eye)
    V = X6 @ (b[12] * X6 + b[10] * X4 + b[8] * X2) + b[6] * X6 + b[4] * X4 + b[2] * X2 + b[0] * eye
    E = np.linalg.solve(V - U, V + U)
    for i in range(int(s.max())):
        sq = np.nonzero(s > i)[0]
        if len(sq) == len(E):
            E = E @ E
        else:
            E[sq] = E[sq] @ E[sq]
    zero = ~M.any(axis=(-2, -1))
    if zero.any():
        E[zero] = eye  # exactly (tau = 0)
    return E


def _phi1_vec(Ap, c, h):
    """``Phi(h) e_c = int_0^h e^{A s} ds e_c`` via expm of ``[[A h, e_c h], [0, 0]]``."""
    m, S, _ = Ap.shape
    M = np.zeros((m, S + 1, S + 1))
    M[:, :S, :S] = Ap * h[:, None, None]
    M[np.arange(m), c, S] = h
    return _expm(M)[:, :S, S]


def _mv(E, v):
    return np.einsum("nij,nj->ni", E, v)


def _solve_checked(B, rhs, what):
    cond = np.linalg.cond(B)
    if not np.all(cond < 1e12):
        raise ModelError(f"no steady state: compartment without elimination ({what} is singular)")
    return np.linalg.solve(B, rhs[..., None])[..., 0]


def _expm_pairs(ctx, A, po, pi, out_subj, out_t):
    """State contributions of (output, input) pairs by matrix exponentials: shape (n_pairs, S)."""
    m = len(po)
    S = A.shape[1]
    x = np.zeros((m, S))
    t = out_t[po]
    kinds = ctx.kind[pi]
    for kind in np.unique(kinds):
        sel = np.nonzero(kinds == kind)[0]
        ii = pi[sel]
        Ap = A[out_subj[po[sel]]]
        c = ctx.cmt[ii]
        tau = t[sel] - ctx.time[ii]
        D, P = ctx.dur[ii], ctx.period[ii]
        ms = len(sel)
        ec = np.zeros((ms, S))
        ec[np.arange(ms), c] = 1.0
        if kind == _BOLUS:
            v = _expm(Ap * tau[:, None, None])[np.arange(ms), :, c]
        elif kind == _INFUSION:
            v = _phi1_vec(Ap, c, np.minimum(tau, D))
            v = _mv(_expm(Ap * np.maximum(tau - D, 0.0)[:, None, None]), v)
        elif kind == _TRAIN_BOLUS:
            j0 = _first_arrived(tau, P)
            B = np.eye(S) - _expm(Ap * P[:, None, None])
            y = _solve_checked(B, ec, "I - exp(A*II)")
            v = _mv(_expm(Ap * (tau + j0 * P)[:, None, None]), y)
        elif kind == _TRAIN_INFUSION:
            j0, j1 = _running_range(tau, D, P)
            B = np.eye(S) - _expm(Ap * P[:, None, None])
            y = _solve_checked(B, _phi1_vec(Ap, c, D), "I - exp(A*II)")
            v = _mv(_expm(Ap * np.maximum(tau + j1 * P - D, 0.0)[:, None, None]), y)
            n_run = j1 - j0
            for r in range(int(n_run.max())):
                tr = np.where(r < n_run, tau + (j0 + r) * P, 0.0)
                v = v + _phi1_vec(Ap, c, tr)
        else:  # _SS_INFUSION
            v = -_solve_checked(Ap, ec, "the system matrix")
        x[sel] = v * ctx.q[ii][:, None]
    return x
