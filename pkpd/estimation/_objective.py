"""The FO / FOCE / FOCE-I objective with batched empirical Bayes estimates (EBEs).

For subject ``i`` with random effects ``eta`` (N(0, Omega)), predictions ``f(eta)`` and residual variances
``V(f)``, the individual objective is

    O_i(eta) = sum_j t_j(f_j) + eta' Omega^-1 eta,
    t_j = (y_j - f_j)^2 / V_j + log V_j                  (quantified observation)
    t_j = -2 log Phi((LLOQ_j - f_j) / sqrt(V_j))           (below the limit of quantification, M3)

Its minimiser is the EBE. The FOCE-I objective (NONMEM convention: -2 log-likelihood without the
``n log 2 pi`` constant) is the Laplace approximation with the first-order Hessian (Beal & Sheiner; Wang 2007,
J Pharmacokinet Pharmacodyn 34:575)::

    OFV = sum_i [ O_i(eta_i) + log det Omega + log det H_i ],   H_i = Omega^-1 + 1/2 sum_j w_j g_j g_j'

with ``g_j = d f_j / d eta`` at ``eta_i`` and ``w_j`` the expected second derivative of ``t_j`` in ``f``:
``2 / V + (V' / V)^2`` for a quantified observation (``V' = dV/df``, zero for additive error), and the exact
second derivative for a BLQ one (the Laplacian treatment NONMEM requires for M3). ``FOCE`` evaluates the
residual variance at ``eta = 0`` (no interaction); ``FO`` linearises around ``eta = 0`` without EBEs:
``OFV_i = log det C_i + r' C_i^-1 r``, ``C_i = G Omega G' + diag V``, ``r = y - f(0)``.

**Log-transform both sides** (:class:`~pkpd.population.residual.ExponentialError`, Karlsson, Beal & Sheiner
1995, J Pharmacokinet Biopharm 23:651): ``y``, ``LLOQ`` and ``f`` above are the logs of the observation, the
limit and the prediction, and ``g`` is ``d log f / d eta``; everything else is unchanged, so the OFV is NONMEM's
for ``Y = LOG(F) + EPS(1)`` on ``DV = LOG(concentration)`` -- no Jacobian ``sum 2 log y`` is added, as NONMEM
adds none. A quantified observation must be > 0 (:class:`PopData` raises a :class:`DatasetError` naming the
record). A prediction ``f <= 0`` at a quantified observation (before absorption, before a lag time) makes
the likelihood of that observation 0: its subject's objective is ``+inf`` (the outer search backs away from
such parameters, the EBE search rejects such steps); :meth:`Objective.check_positive_predictions` turns it
into an error naming the record at a starting point. At a BLQ record such a prediction is certainly below
the limit: its M3 term is 0.

Inner step: damped Newton (Levenberg) on all subjects at once; each iteration predicts ``f`` and its first
and second finite-difference derivatives in eta for every subject in one batched simulation.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from .._internal.lazy import special
from ..errors import DatasetError, ParameterError, SimulationError
from ..engine import BatchPredictor, explicit_solver
from ._error_codes import error_codes
from ._eta_shift import eta_shift
from ._observations import observation_records
from ..io import Dataset

METHODS = ("FOCEI", "FOCE", "FO")
#: parts of a :meth:`Objective._newton` end indexed by observation (the others by subject): f, g, c and the anchor's
_PER_OBSERVATION = (1, 2, 3, 7, 8, 9)
#: ODE tolerance of population estimation: dp5 then reaches about 1e-9 relative error, so that the
#: eta-derivatives (steps of 1e-3) keep 6 digits; 1.4x faster than the individual fits' 1e-9.
ODE_RTOL = 1e-8


def check_method(method) -> str:
    method = str(method).upper().replace("-", "")
    if method not in METHODS:
        raise ParameterError(f"method must be one of 'FOCEI', 'FOCE' or 'FO', got {method!r}")
    return method


class PopData:
    """Observations of a dataset by subject (BLQ handled by M3 or M1), their covariates, and batched
    predictions for per-subject parameter sets."""

    def __init__(self, popmodel, data: Dataset, engine: str, blq: str = "M3", lloq=None):
        model = popmodel.model
        if blq not in ("M3", "M1"):
            raise ParameterError(f"blq must be 'M3' or 'M1' for population fits, got {blq!r}")
        obs = observation_records(data, blq, lloq)
        self.rows, self.blq = obs.rows, obs.blq
        self.output_index = popmodel.observation_outputs(data.events, self.rows)
        self.error = popmodel.bound_error(self.output_index)
        #: the error models coded for the compiled EBE search (None: an error model of its own ``stdev``)
        self.codes = error_codes(self.error, len(self.rows))
        #: observations whose error compares logs (log-transform both sides)
        self.log = log_rows(self.error, len(self.rows))
        self.any_log = bool(self.log.any())                 # (asked at every evaluation)
        #: per observation: the log compared where the prediction is <= 0 (-inf: none; ExponentialError's guard)
        self.zero_log = zero_log_rows(self.error, len(self.rows))
        #: the observations as given (natural scale); ``y`` and ``lloq`` are on the error's scale
        self.dv = obs.y
        _check_log_observations(data.events, self.rows, obs.y, obs.lloq, self.blq, self.log)
        self.y, self.lloq = to_error_scale(obs.y, self.log), to_error_scale(obs.lloq, self.log & self.blq)
        outputs = np.asarray(popmodel.outputs, dtype=object)[self.output_index]
        self.predict_many = BatchPredictor(model, data, outputs if len(popmodel.outputs) > 1 else popmodel.outputs[0],
                                           self.rows, engine, rtol=ODE_RTOL)
        self.ids, self.n = self.predict_many.ids, self.predict_many.n_subjects
        self.subject = self.predict_many.rank[self.rows]
        self.n_obs_by_subject = np.bincount(self.subject, minlength=self.n)
        self.events = data.events
        self.design = popmodel.design(data.events, self.predict_many.rank)
        self.covariates = self.design.subjects


def log_rows(error, n: int) -> np.ndarray:
    """Per observation: whether ``error`` compares logs there (one error model, or one per output)."""
    rows = getattr(error, "log_observations", None)
    return np.asarray(rows, dtype=bool) if rows is not None else np.full(n, bool(error.log_scale))


def zero_log_rows(error, n: int) -> np.ndarray:
    """Per observation: the log its error compares where the prediction is <= 0 (``-inf`` unless the error
    guards it: :attr:`~pkpd.population.residual.ExponentialError.zero_prediction`)."""
    per_output = getattr(error, "zero_logs", None)
    return np.asarray(per_output, dtype=float) if per_output is not None else np.full(n, float(error.zero_log))


def to_error_scale(values, log, zero_log=None) -> np.ndarray:
    """``values`` (last axis: observations) with the ``log`` ones replaced by their logs (``zero_log`` where
    <= 0, ``-inf`` by default): a new array, or ``values`` as they are when no observation is on the log scale."""
    if not np.any(log):
        return np.asarray(values, dtype=float)
    values = np.array(values, dtype=float)
    part = values[..., log]
    positive = part > 0
    below = -np.inf if zero_log is None else np.asarray(zero_log, dtype=float)[log]
    values[..., log] = np.where(positive, np.log(np.where(positive, part, 1.0)), below)
    return values


def natural_scale(values, log) -> np.ndarray:
    """The inverse of :func:`to_error_scale` (a new array)."""
    values = np.array(values, dtype=float)
    values[..., log] = np.exp(values[..., log])
    return values


def _check_log_observations(events, rows, dv, lloq, blq, log):
    """Log-scale error: raise naming the first quantified observation <= 0 or BLQ record with LLOQ <= 0."""
    checks = ((log & ~blq & ~(dv > 0), dv, "observation DV {!r} is not > 0"),
              (log & blq & ~(lloq > 0), lloq, "BLQ record with LLOQ {!r}: the limit must be > 0"))
    for bad, values, what in checks:
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            row = int(rows[j])
            raise DatasetError(f"record {row + 1} (ID {events['ID'].iloc[row]}, TIME {events['TIME'].iloc[row]}): "
                               f"{what.format(float(values[j]))}; the exponential error (log-transform both sides) "
                               "compares logs: flag it BLQ (with its LLOQ), remove it, or use another error model "
                               f"({int(bad.sum())} such record(s))")


def variance(error, f, sigma):
    sd = error.stdev(f, sigma)
    return sd * sd


def _variance_slopes(error, f, sigma):
    """dV/df and d2V/df2 by central differences (zero for additive error)."""
    if error.constant_sd:             # the differences would be exactly zero: skip the three evaluations
        zero = np.zeros(np.shape(f))
        return zero, zero
    h = 1e-4 * np.maximum(np.abs(f), 1e-8)
    vp, v0, vm = variance(error, f + h, sigma), variance(error, f, sigma), variance(error, f - h, sigma)
    return (vp - vm) / (2 * h), (vp - 2 * v0 + vm) / h**2


class Objective:
    """FO / FOCE / FOCE-I objective for given theta, Omega and sigma, with warm-started batched EBEs."""

    def __init__(self, popmodel, pdata: PopData, method: str):
        self.pm, self.d, self.method = popmodel, pdata, method
        #: random effects per subject: the etas, then with between-occasion variability those of each occasion
        self.q = popmodel.n_effects(pdata.design)
        self.eta = np.zeros((pdata.n, self.q))
        self.h = 1e-3 if pdata.predict_many.uses_ode else 1e-4
        #: the distance in eta within which predictions are extrapolated, not simulated (:data:`EXTRAPOLATE_BELOW`)
        self.extrapolate_below = self.EXTRAPOLATE_BELOW
        self.converged = True
        #: the EBE search's iterations run compiled (:mod:`pkpd.estimation._newton_kernel`) where they are the cost --
        #: predictions by the closed form -- and numba is installed, the error models are the library's and no
        #: observation is BLQ (M3); else in numpy (with ODE predictions the simulations are the cost; there the
        #: compiled iterations, equal per evaluation to 5e-9, made the 200-subject benchmark's search take more
        #: evaluations in 8 of 10 seeds, as many in 2)
        self.compiled = (explicit_solver() == "compiled" and not pdata.predict_many.uses_ode
                         and pdata.codes is not None and not pdata.blq.any())
        #: ``(theta, anchor)`` of the last EBE searches at different fixed effects, the latest last: where each ended
        #: (its last simulated point, or one moved from it by :meth:`_anchor_for`)
        self._anchors = ()
        #: fixed effects a step in which alone was found not to be a shift of the random effects (:meth:`_anchor_for`)
        self._not_shifts = frozenset()
        #: the next EBE search starts from both the previous EBEs and zero (:meth:`ebe`)
        self.multistart = True
        #: where the search that began at eta = 0 has got to (``starts="tracks"`` of :meth:`ebe`)
        self.eta_zero = np.zeros((pdata.n, self.q))
        #: per subject: the last multi-start search ended at different EBEs from its starts
        self.modes = np.zeros(pdata.n, dtype=bool)
        #: the last arguments of the compiled kernels, the last inverse of Omega, with their keys (:meth:`_kernel_data`,
        #: :meth:`_inverse`)
        self._kernel_args = self._omega_inv = None
        if method == "FO" and pdata.blq.any():
            raise ParameterError("method 'FO' does not handle BLQ records by M3; use FOCEI or blq='M1'")

    def subject_omega(self, omega) -> np.ndarray:
        """The covariance of a subject's random effects (q x q) from Omega over the model's
        :attr:`~pkpd.PopulationModel.random_effect_names` (the IOV block repeated per occasion). :meth:`per_subject`
        and :meth:`__call__` take the model's Omega; :meth:`ebe` and :meth:`first_order_hessian` this one."""
        return self.pm.subject_omega(omega, self.d.design)

    def with_method(self, method: str) -> "Objective":
        """A copy of this objective that evaluates with ``method`` ("FO", "FOCE", "FOCEI"); this one is unchanged.

        The copy shares the data and starts its EBE searches from this objective's EBEs; those searches update
        the copy's EBEs only.
        """
        method = check_method(method)
        if method == "FO" and self.d.blq.any():
            raise ParameterError("method 'FO' does not handle BLQ records by M3; use FOCEI or blq='M1'")
        new = copy.copy(self)
        new.method = method
        return new

    def predict(self, theta, eta):
        """Predictions on the error's scale (logs of the log-scale observations)."""
        return to_error_scale(self.pm.predict(self.d.predict_many, theta, [eta], self.d.design)[0], self.d.log,
                              self.d.zero_log)

    def check_positive_predictions(self, theta, where: str):
        """Log-scale error: raise a :class:`DatasetError` naming the first quantified observation whose
        population prediction (``eta = 0``) is <= 0 -- its likelihood, and so the objective, would be 0."""
        log = self.d.log & ~self.d.blq & np.isneginf(self.d.zero_log)     # (a guarded error compares a value)
        if not log.any():
            return
        f = self.pm.predict(self.d.predict_many, theta, [np.zeros_like(self.eta)], self.d.design)[0]
        bad = log & ~(f > 0)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            row, ev = int(self.d.rows[j]), self.d.events
            raise DatasetError(f"{where}: record {row + 1} (ID {ev['ID'].iloc[row]}, TIME {ev['TIME'].iloc[row]}, "
                               f"DV {self.d.dv[j]:g}): the population prediction is {f[j]:g}, not > 0, so under the "
                               f"exponential error (log-transform both sides) this observation has likelihood 0 "
                               f"({int(bad.sum())} such record(s)): check the dose and lag time, flag the record "
                               f"BLQ, or remove it")

    def f_and_g(self, theta, eta, curvature=False):
        """Predictions (n_obs,) and their eta-derivatives (n_obs, q) by central differences, with the
        second derivatives (n_obs, q, q) when ``curvature``; all sets in one batched simulation."""
        return self.f_and_g_many(theta, [eta], curvature)[0]

    def f_and_g_many(self, theta, etas, curvature=False):
        """:meth:`f_and_g` at each of several eta arrays (each (subjects, q)), all in one batched simulation: a
        list of ``(f, g, c)``."""
        q, h = self.q, self.h
        eye = np.eye(q) * h
        pairs = [(k, m) for k in range(q) for m in range(k + 1, q)] if curvature else []
        per = 1 + 2 * q + len(pairs)
        sets = []
        for eta in etas:
            sets += [eta] + [eta + eye[k] for k in range(q)] + [eta - eye[k] for k in range(q)]
            sets += [eta + eye[k] + eye[m] for k, m in pairs]
        f_all = to_error_scale(self.pm.predict(self.d.predict_many, theta, sets, self.d.design), self.d.log,
                               self.d.zero_log)
        with np.errstate(invalid="ignore"):
            return [self._derivatives(f_all[i * per: (i + 1) * per], pairs, curvature) for i in range(len(etas))]

    def _derivatives(self, f, pairs, curvature):
        """The finite differences of :meth:`f_and_g_many` (under its ``errstate``)."""
        q, h = self.q, self.h
        f0, plus, minus = f[0], f[1: q + 1], f[q + 1: 2 * q + 1]
        g = ((plus - minus) / (2 * h)).T
        if curvature:
            c = np.zeros((len(f0), q, q))
            for k in range(q):
                c[:, k, k] = (plus[k] - 2 * f0 + minus[k]) / h**2
            for i, (k, m) in enumerate(pairs):
                c[:, k, m] = c[:, m, k] = (f[2 * q + 1 + i] - plus[k] - plus[m] + f0) / h**2
        if self.d.any_log:
            # log f = -inf (f <= 0) at or next to eta: no usable slope; the data term there is 0 (BLQ) or
            # +inf (quantified), so the slope does not matter
            g = np.where(np.isfinite(g), g, 0.0)
            c = np.where(np.isfinite(c), c, 0.0) if curvature else None
        return f0, g, (c if curvature else None)

    def by_subject(self, values):
        """Sums of ``values`` (observations first, any trailing shape) per subject: ``np.add.at``'s sums, in the same
        order (so the same to the bit), several times faster (one ``bincount`` per trailing entry)."""
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            return np.bincount(self.d.subject, weights=values, minlength=self.d.n)
        flat = values.reshape(len(values), -1)
        sums = [np.bincount(self.d.subject, weights=flat[:, k], minlength=self.d.n) for k in range(flat.shape[1])]
        return np.stack(sums, axis=1).reshape((self.d.n,) + values.shape[1:])

    # -- the data terms t_j(f) and their derivatives ---------------------------------------------------
    def _blq_term(self, f, sigma, v0):
        b = self.d.blq
        lloq = self.d.lloq[b]
        sd = np.sqrt(v0[b]) if v0 is not None else None

        def t(fb):
            if sd is None:
                full = f.copy()
                full[b] = fb
                s = self.d.error.stdev(full, sigma)[b]
            else:
                s = sd
            return -2.0 * special.log_ndtr((lloq - fb) / s)
        fb = f[b]
        # log scale: steps of 1e-5 in log f (log f = -inf, f <= 0: all terms 0)
        with np.errstate(invalid="ignore"):
            h = np.where(self.d.log[b], 1e-5, 1e-5 * np.maximum(np.abs(fb), np.abs(lloq)))
        t0, tp, tm = t(fb), t(fb + h), t(fb - h)
        return t0, (tp - tm) / (2 * h), (tp - 2 * t0 + tm) / h**2

    def terms(self, f, sigma, v0=None, exact=False):
        """``t``, ``dt/df`` and the Hessian weight ``w`` per observation: the expected second derivative
        (FOCE-I's first-order Hessian) or, when ``exact``, the exact one (Newton's method on the EBEs)."""
        v = variance(self.d.error, f, sigma) if v0 is None else v0
        r = self.d.y - f
        if v0 is None:
            with np.errstate(invalid="ignore"):
                dv, d2v = _variance_slopes(self.d.error, f, sigma)
        else:
            dv = d2v = np.zeros_like(f)
        with np.errstate(invalid="ignore"):
            t = r * r / v + np.log(v)
            dt = -2.0 * r / v + dv / v * (1.0 - r * r / v)
            if exact:
                w = (2.0 / v + 4.0 * r * dv / v**2 + 2.0 * r * r * dv**2 / v**3 - r * r * d2v / v**2 + d2v / v
                     - (dv / v) ** 2)
            else:
                w = 2.0 / v + (dv / v) ** 2
        if self.d.any_log:
            # log f = -inf at a quantified observation: t = +inf (likelihood 0); no finite slope to follow
            dead = ~np.isfinite(f)
            dt, w = np.where(dead, 0.0, dt), np.where(dead, 2.0 / v, w)
        if self.d.blq.any():
            b = self.d.blq
            t[b], dt[b], second = self._blq_term(f, sigma, v0)
            w[b] = second if exact else np.maximum(second, 0.0)
        return t, dt, w

    def subject_objective(self, f, eta, omega_inv, sigma, v0=None):
        t, _, _ = self.terms(f, sigma, v0)
        return self.by_subject(t) + np.einsum("ik,kl,il->i", eta, omega_inv, eta)

    def first_order_hessian(self, f, g, omega, sigma, v0=None, omega_inv=None):
        """``H_i = Omega^-1 + 1/2 sum_j w_j g_j g_j'`` per subject (subjects, q, q)."""
        _, _, w = self.terms(f, sigma, v0)
        hess = self.by_subject(0.5 * np.einsum("j,jk,jl->jkl", w, g, g))
        return hess + (np.linalg.inv(omega) if omega_inv is None else omega_inv)

    def population_variance(self, theta, sigma):
        """FOCE: the residual variance at the population prediction (eta = 0)."""
        return variance(self.d.error, self.predict(theta, np.zeros_like(self.eta)), sigma)

    # -- inner step ------------------------------------------------------------------------------------
    #: Distance (in eta) from the last simulated point within which the predictions are extrapolated from its
    #: derivatives (to second order) instead of simulated (:attr:`extrapolate_below`, which the outer search raises
    #: while it searches: :data:`~pkpd.estimation._fit_search.SEARCH_EXTRAPOLATION`). The extrapolated gradient is
    #: off by about the distance times the error of the finite-difference curvature (relative ~h): at 1e-6, EBEs
    #: land within ~1e-10 of where a simulation would put them, and the objective (whose Laplace term moves to first
    #: order with the EBEs) does not depend on the path of the search to better than ~1e-8 (measured after steps in
    #: Omega: < 1e-9 on theophylline, 1.3e-8 on 200 two-compartment ODE subjects). Always from a simulated point
    #: (the anchor), never from an extrapolation: chained extrapolations drift. This keeps the outer
    #: finite-difference gradient cheap: a step in Omega or sigma needs no simulation, a step in theta one (the
    #: predictions at the previous EBEs).
    EXTRAPOLATE_BELOW = 1e-6

    #: Relative steps in the fixed effects up to which :meth:`_anchor_for` looks for a shift of the random effects
    SHIFT_BELOW = 1e-4

    #: Distance (in eta) from the last anchor within which a small step in theta reuses its curvature
    CURVATURE_NEAR = 1e-4

    #: Levenberg damping (added to the Hessian's diagonal) at the start of a search; tenfold less after an accepted
    #: step. After a rejected step it grows tenfold and to at least the largest diagonal entry of the Hessian, where
    #: the step in the stiffest direction is about half Newton's: an overshooting step is damped on the scale of the
    #: curvature at once, not after the five or six rejections (each a batched simulation) that tenfold growth from
    #: 1e-6 takes to get there. Madsen, Nielsen & Tingleff (2004, Methods for non-linear least squares problems, 2nd
    #: ed., IMM DTU, sec. 3.2) scale the damping by the largest diagonal entry likewise. Searches from eta = 0 take a
    #: third to a half fewer simulations (tests/unit/test_ebe_search.py).
    DAMPING = 1e-6

    #: EBEs of two starts farther apart than this (largest |difference| of an eta) are different modes
    DISAGREE = 1e-2
    #: Newton iterations the search from zero takes per outer iteration (``starts="tracks"``)
    ZERO_STEPS = 1

    def ebe(self, theta, omega, sigma, tol=1e-7, max_iter=100, method: str | None = None,
            starts: str | None = None):
        """EBEs (subjects, q), predictions and derivatives at them, by damped Newton; ``omega`` is the covariance of
        a subject's random effects (:meth:`subject_omega`); ``method`` (default the objective's) "FOCE" uses the
        population variance in the inner objective, the others the individual.

        ``starts``:

        - ``"warm"``: from the previous EBEs;
        - ``"zero"``: from ``eta = 0``;
        - ``"both"``: from both, to convergence, at once (the two searches share each batched simulation);
        - ``"tracks"``: from the previous EBEs to convergence and, sharing its simulations, :data:`ZERO_STEPS`
          iterations of a second search that began at ``eta = 0`` (:attr:`eta_zero`, continued from one call to
          the next; a subject's restarts from zero once it has converged), so that a search from zero costs about
          one batched simulation per call. Default when :attr:`multistart` is set (the outer search sets it once
          per iteration; it is then cleared), else ``"warm"``.

        A subject keeps the lowest inner objective of the converged searches. Where two converged searches end
        at different EBEs (:attr:`modes`), a third starts from the better one's neighbourhood (half a standard
        deviation beyond it, away from the worse one).
        """
        omega_inv = self._inverse(omega)
        starts = starts or ("tracks" if self.multistart else "warm")
        self.multistart = False
        v0 = self.population_variance(theta, sigma) if (method or self.method) == "FOCE" else None
        warm, zero = self.eta.copy(), np.zeros_like(self.eta)
        second = self.eta_zero if starts == "tracks" else zero
        if starts == "zero" or (starts in ("both", "tracks") and not warm.any() and not second.any()):
            points = [zero]
        else:
            points = [warm, second] if starts in ("both", "tracks") else [warm]
        caps = [max_iter, self.ZERO_STEPS if starts == "tracks" else max_iter][: len(points)]
        ends = self._newton(theta, points, omega_inv, sigma, v0, tol, caps)
        self.modes = np.zeros(self.d.n, dtype=bool)
        if len(ends) == 2:
            done = ends[1][5] < tol
            if starts == "tracks":
                self.eta_zero = np.where(done[:, None], 0.0, ends[1][0])
                ends[1] = ends[1][:4] + (np.where(done, ends[1][4], np.inf),) + ends[1][5:]
            apart = done & (np.max(np.abs(ends[0][0] - ends[1][0]), axis=1) > self.DISAGREE)
            best = self._best(ends)
            if apart.any():
                self.modes = apart
                worse = np.where((ends[0][4] <= ends[1][4])[:, None], ends[1][0], ends[0][0])
                third = self._newton(theta, [self._beyond(best[0], worse, apart, omega_inv)], omega_inv, sigma, v0,
                                     tol, [max_iter])
                best = self._best([best, *third])
        else:
            best = ends[0]
        eta, f, g, c, obj, gmax = best[:6]
        self.converged = bool(np.all(gmax < tol))
        self.eta = eta
        # keep one per fixed effect of a finite-difference gradient and its centre: the centre's is found again
        # when the gradient's last steps (in Omega, sigma) return to its fixed effects
        kept = tuple(entry for entry in self._anchors if entry[0] != theta)[-(len(theta) + 1):]
        self._anchors = kept + ((dict(theta), best[6:]),)
        return eta, f, g, obj, v0

    def _beyond(self, better, worse, apart, omega_inv):
        """Starts half a standard deviation (in Omega's metric) beyond ``better``, away from ``worse``, for the
        subjects ``apart``; the others at ``better``."""
        d = better - worse
        size = np.sqrt(np.maximum(np.einsum("ik,kl,il->i", d, omega_inv, d), 1e-300))
        return np.where(apart[:, None], better + 0.5 * d / size[:, None], better)

    def _best(self, ends):
        """Per subject, the end (of the :meth:`_newton` ends) with the lowest inner objective (the first on ties):
        one end, with the rows of each subject's choice."""
        if len(ends) == 1:
            return ends[0]
        objs = np.stack([e[4] for e in ends])
        objs = np.where(np.isfinite(objs), objs, np.inf)
        pick = np.argmin(objs, axis=0)
        sub = self.d.subject
        out = []
        for part in range(len(ends[0])):
            values = np.stack([e[part] for e in ends])
            index = pick[sub] if part in _PER_OBSERVATION else pick
            out.append(np.take_along_axis(values, index.reshape((1, -1) + (1,) * (values.ndim - 2)), 0)[0])
        return tuple(out)

    def _newton(self, theta, points, omega_inv, sigma, v0, tol, caps):
        """Damped Newton (Levenberg) from each start of ``points`` at once, every simulation batched over the
        starts still searching; start ``j`` takes at most ``caps[j]`` iterations. Returns one ``(eta, f, g, c, obj,
        gmax, *anchor)`` per start: the EBEs, the predictions and their first and second eta-derivatives there, the
        inner objectives, the largest |gradient| per subject, and the anchor ``(eta, f, g, c)``: per subject the
        last point simulated, from which the predictions are extrapolated (:data:`EXTRAPOLATE_BELOW`)."""
        sub = self.d.subject
        anchor = self._anchor_for(theta)
        near = [anchor is not None and np.max(np.abs(p - anchor[0]), initial=0.0) <= self.extrapolate_below
                for p in points]
        todo = [j for j, ok in enumerate(near) if not ok]
        curvature = self._nearby_curvature(theta, [points[j] for j in todo]) if anchor is None else None
        simulated = self.f_and_g_many(theta, [points[j] for j in todo], curvature=curvature is None) if todo else []
        fresh = dict(zip(todo, [(f, g, curvature if c is None else c) for f, g, c in simulated]))
        states = []
        for j, p in enumerate(points):
            a = (p.copy(), *fresh[j]) if j in fresh else anchor
            f, g, c = self._extrapolate(a, p) if j not in fresh else fresh[j]
            states.append({"eta": p.copy(), "f": f, "g": g, "c": c, "anchor": a,
                           "lam": np.full(self.d.n, self.DAMPING),
                           "obj": (np.empty(self.d.n) if self.compiled      # (computed by the kernel)
                                   else self.subject_objective(f, p, omega_inv, sigma, v0)),
                           "gmax": np.full(self.d.n, np.inf)})
        if self.compiled:
            return self._iterate_compiled(theta, states, omega_inv, sigma, v0, tol, caps)
        active = list(range(len(states)))
        for iteration in range(max(caps)):
            trials = []
            for j in active:
                s = states[j]
                f, g, c, eta = s["f"], s["g"], s["c"], s["eta"]
                _, dt, w = self.terms(f, sigma, v0, exact=True)
                grad = self.by_subject(0.5 * g * dt[:, None]) + eta @ omega_inv     # half the gradient of O_i
                # Newton's Hessian (exact in f, with the curvature of f); where it is not positive definite,
                # the first-order one (Gauss-Newton), which always is
                hess = self.by_subject(0.5 * (np.einsum("j,jk,jl->jkl", w, g, g) + dt[:, None, None] * c)) + omega_inv
                not_pd = np.linalg.eigvalsh(hess)[:, 0] <= 0
                if not_pd.any():
                    hess[not_pd] = self.first_order_hessian(f, g, None, sigma, v0, omega_inv)[not_pd]
                s["gmax"] = np.max(np.abs(grad), axis=1)
                s["curv"] = np.max(np.diagonal(hess, axis1=1, axis2=2), axis=1)
                if np.max(s["gmax"]) < tol or iteration >= caps[j]:     # every subject at its EBE, or no more
                    continue
                step = -np.linalg.solve(hess + s["lam"][:, None, None] * np.eye(self.q), grad[..., None])[..., 0]
                step = np.clip(step, -1.0, 1.0)               # trust region: at most e-fold per iteration
                trials.append((j, eta + step, step))
            active = [j for j, _, _ in trials]
            if not active:
                break
            simulate = [(j, trial) for j, trial, _ in trials
                        if np.max(np.abs(trial - states[j]["anchor"][0])) > self.extrapolate_below]
            try:
                simulated = dict(zip([j for j, _ in simulate],
                                     self.f_and_g_many(theta, [t for _, t in simulate], curvature=True)
                                     if simulate else []))
            except (SimulationError, ValueError, ArithmeticError):   # extreme trial parameters: reject all
                simulated = {j: None for j, _ in simulate}
            for j, trial, step in trials:
                s = states[j]
                f, g, c = s["f"], s["g"], s["c"]
                if j not in simulated:
                    f_t, g_t, c_t = self._extrapolate(s["anchor"], trial)
                elif simulated[j] is None:
                    f_t, g_t, c_t = np.full_like(f, np.nan), np.full_like(g, np.nan), np.full_like(c, np.nan)
                else:
                    f_t, g_t, c_t = simulated[j]
                obj_t = self.subject_objective(f_t, trial, omega_inv, sigma, v0)
                better = np.isfinite(obj_t) & (obj_t <= s["obj"] + 1e-12)
                keep_obs = better[sub]
                s["eta"] = np.where(better[:, None], trial, s["eta"])
                s["f"] = np.where(keep_obs, f_t, f)
                s["g"] = np.where(keep_obs[:, None], g_t, g)
                s["c"] = np.where(keep_obs[:, None, None], c_t, c)
                s["obj"] = np.where(better, obj_t, s["obj"])
                s["lam"] = np.where(better, s["lam"] * 0.1, np.maximum(s["lam"] * 10.0, s["curv"]))
                if simulated.get(j) is not None:           # the accepted trials are the new anchors
                    a = s["anchor"]
                    s["anchor"] = (np.where(better[:, None], trial, a[0]), np.where(keep_obs, f_t, a[1]),
                                   np.where(keep_obs[:, None], g_t, a[2]), np.where(keep_obs[:, None, None], c_t, a[3]))
        return [(s["eta"], s["f"], s["g"], s["c"], s["obj"], s["gmax"], *s["anchor"]) for s in states]

    def _iterate_compiled(self, theta, states, omega_inv, sigma, v0, tol, caps):
        """:meth:`_newton`'s iterations from ``states`` by :mod:`pkpd.estimation._newton_kernel`: each start runs
        compiled until it ends or needs a simulation; the starts that need one are simulated together."""
        from . import _newton_kernel as kernel

        d = self.d
        data = self._kernel_data(sigma, v0, omega_inv)
        # each start's state, as own contiguous copies (the kernel writes them; anchors may be shared)
        own = [[np.array(x, dtype=float, order="C") for x in
                (s["eta"], s["f"], s["g"], s["c"], s["lam"], s["obj"], s["gmax"], np.zeros(d.n), *s["anchor"])]
               for s in states]
        at_trial = [[np.empty_like(x[0]), np.empty_like(x[1]), np.empty_like(x[2]), np.empty_like(x[3])] for x in own]
        iteration, last, judge = [0] * len(own), max(caps), [(False, False)] * len(own)
        pending = list(range(len(own)))
        while pending:
            need = []
            for j in pending:
                status, iteration[j] = kernel.run(*own[j], *at_trial[j], *judge[j], *data, tol, iteration[j], caps[j],
                                                  last, self.extrapolate_below)
                if status == kernel.SIMULATE:
                    need.append(j)
            if not need:
                break
            try:
                simulated = self.f_and_g_many(theta, [at_trial[j][0] for j in need], curvature=True)
            except (SimulationError, ValueError, ArithmeticError):   # extreme trial parameters: reject all
                simulated = None
            for k, j in enumerate(need):
                for into, value in zip(at_trial[j][1:], (np.nan,) * 3 if simulated is None else simulated[k]):
                    into[...] = value
                judge[j] = (True, simulated is not None)
            pending = need
        return [(x[0], x[1], x[2], x[3], x[5], x[6], *x[8:]) for x in own]

    def _inverse(self, omega) -> np.ndarray:
        """``omega``'s inverse; the last one kept (an evaluation's EBE search and its Laplace term ask for it)."""
        key = np.asarray(omega, dtype=float).tobytes()
        if self._omega_inv is None or self._omega_inv[0] != key:
            self._omega_inv = key, np.linalg.inv(omega)
        return self._omega_inv[1]

    def _kernel_data(self, sigma, v0, omega_inv) -> tuple:
        """The data and error arguments of :mod:`pkpd.estimation._newton_kernel`'s functions: ``subject``, ``y``,
        the error codes and numbers, ``v0`` (empty: the individual variance), ``any_log``, ``omega_inv``. The last
        one is kept: an evaluation's EBE search and its Laplace term ask for the same."""
        omega_inv = np.ascontiguousarray(omega_inv, dtype=float)
        v0 = np.empty(0) if v0 is None else np.ascontiguousarray(v0, dtype=float)
        key = (tuple(sigma.items()), v0.tobytes(), omega_inv.tobytes())
        if self._kernel_args is None or self._kernel_args[0] != key:
            d = self.d
            a, b = d.codes.numbers(sigma)
            self._kernel_args = key, (np.ascontiguousarray(d.subject, dtype=np.int64),
                                      np.ascontiguousarray(d.y, dtype=float), d.codes.kind, a, b, v0, d.any_log,
                                      omega_inv)
        return self._kernel_args[1]

    def _anchor_for(self, theta):
        """The anchor of an earlier EBE search at ``theta``; else one moved in eta where ``theta`` differs from its
        fixed effects by a step the random effects reproduce exactly (:func:`eta_shift`: a step in a log-normal
        typical value, as the outer search's finite differences take); else None.

        The kept anchors are tried latest first, those whose fixed effects differ from ``theta`` in one entry
        before the others: a finite-difference step follows the step in another fixed effect, and is a single step
        from the gradient's centre, not from the step before it."""
        for earlier, anchor in reversed(self._anchors):
            if earlier == theta:
                return anchor
        candidates = []
        for earlier, anchor in reversed(self._anchors):
            changed = frozenset(k for k in theta if theta[k] != earlier.get(k))
            if self._small_step(earlier, theta):   # (a larger step moves the EBEs beyond extrapolation: simulate)
                candidates.append((len(changed) > 1, earlier, anchor, changed))
        for _, earlier, anchor, changed in sorted(candidates, key=lambda c: c[0]):
            if changed & self._not_shifts:         # (a step in a fixed effect that no random effect reproduces)
                continue
            shift = eta_shift(self.pm, self.d.design, earlier, theta, anchor[0])
            if shift is not None:
                return (anchor[0] - shift, *anchor[1:])
            if len(changed) == 1:
                self._not_shifts = self._not_shifts | changed
        return None

    def _small_step(self, theta_from, theta_to) -> bool:
        """Whether the fixed effects moved by at most :data:`SHIFT_BELOW` (relative, each)."""
        return theta_from.keys() == theta_to.keys() and all(
            abs(theta_to[k] - theta_from[k]) <= self.SHIFT_BELOW * max(abs(theta_from[k]), 1e-2) for k in theta_to)

    def _nearby_curvature(self, theta, points):
        """The second eta-derivatives of the last anchor when ``theta`` is a small step from its fixed effects (at
        most :data:`SHIFT_BELOW` relative) and ``points`` lie within :data:`CURVATURE_NEAR` of its random effects;
        else None. The curvature changes with theta and eta only to first order: at most ~1e-6 relative over such
        steps, which moves a Newton step by as little and an extrapolation over 1e-5 by ~1e-16 -- while its cross
        terms take ``q (q - 1) / 2`` of the ``1 + 2 q + q (q - 1) / 2`` sets a simulation predicts. Finite-difference
        steps in fixed effects that no random effect reproduces (:meth:`_anchor_for`) simulate without them."""
        if not self._anchors:
            return None
        last_theta, (eta_a, _, _, c) = self._anchors[-1]
        near = all(np.max(np.abs(p - eta_a), initial=0.0) <= self.CURVATURE_NEAR for p in points)
        return c if near and self._small_step(last_theta, theta) else None

    def _extrapolate(self, anchor, eta):
        """Predictions and their first and second eta-derivatives at ``eta`` from those at the ``anchor`` point
        ``(eta_a, f, g, c)``, to second order in ``eta - eta_a``."""
        eta_a, f, g, c = anchor
        d = (eta - eta_a)[self.d.subject]
        moved = np.any(d != 0.0, axis=1)
        if not moved.any():
            return f, g, c
        with np.errstate(invalid="ignore"):          # (an infinite derivative times a zero move: kept as it was)
            slope = g + np.einsum("jkl,jl->jk", c, d)
            value = f + np.einsum("jk,jk->j", 0.5 * (g + slope), d)      # f + g d + d' c d / 2
        return np.where(moved, value, f), np.where(moved[:, None], slope, g), c

    def per_subject_from_zero(self, theta, omega, sigma) -> np.ndarray:
        """:meth:`per_subject` with EBEs searched from ``eta = 0`` only; this objective's EBEs are unchanged.
        Above the multi-start contributions where the search from zero ends in a worse mode of a subject's inner
        objective."""
        saved = self.eta, self._anchors, self.modes, self.multistart, self.converged
        try:
            self._anchors, self.eta, self.multistart = (), np.zeros_like(self.eta), False
            return self.per_subject(theta, omega, sigma)
        finally:
            self.eta, self._anchors, self.modes, self.multistart, self.converged = saved

    # -- the objective ---------------------------------------------------------------------------------
    def per_subject(self, theta, omega, sigma) -> np.ndarray:
        """Each subject's contribution to the OFV (inf when a Hessian is not positive definite)."""
        omega = self.subject_omega(omega)
        if not np.all(np.isfinite(omega)):              # (an outer search exploring far out: overflowed variances)
            return np.full(self.d.n, math.inf)
        sign_o, logdet_o = np.linalg.slogdet(omega)
        if sign_o <= 0:
            return np.full(self.d.n, math.inf)
        if self.method == "FO":
            return self._fo(theta, omega, sigma)
        eta, f, g, obj, v0 = self.ebe(theta, omega, sigma)
        if self.compiled:
            from ._newton_kernel import laplace

            out = np.empty(self.d.n)
            laplace(np.ascontiguousarray(f, dtype=float), np.ascontiguousarray(g, dtype=float),
                    np.ascontiguousarray(eta, dtype=float), *self._kernel_data(sigma, v0, self._inverse(omega)),
                    np.ascontiguousarray(obj, dtype=float), out)
            return out + logdet_o
        with np.errstate(invalid="ignore"):          # a Hessian with NaN entries (no finite prediction): inf below
            sign, logdet_h = np.linalg.slogdet(self.first_order_hessian(f, g, omega, sigma, v0))
        return np.where(sign > 0, obj + logdet_o + logdet_h, math.inf)

    def __call__(self, theta, omega, sigma) -> float:
        return float(np.sum(self.per_subject(theta, omega, sigma)))

    def _fo(self, theta, omega, sigma):
        self.eta = np.zeros_like(self.eta)
        f, g, _ = self.f_and_g(theta, self.eta)
        v = variance(self.d.error, f, sigma)
        out = np.empty(self.d.n)
        for i, rows in enumerate(self.subject_rows):
            gi = g[rows]
            cov = gi @ omega @ gi.T + np.diag(v[rows])
            sign, logdet = np.linalg.slogdet(cov)
            r = self.d.y[rows] - f[rows]
            finite = sign > 0 and np.all(np.isfinite(r))        # log f = -inf: likelihood 0
            out[i] = logdet + r @ np.linalg.solve(cov, r) if finite else math.inf
        return out

    @property
    def subject_rows(self):
        order = np.argsort(self.d.subject, kind="stable")
        return np.split(order, np.cumsum(self.d.n_obs_by_subject)[:-1])

