"""The result of a fit: estimates, OFV, covariance, predictions and residuals, report, plot, profiles."""

from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..models.params import lmfit_name

__all__ = ["FitResult"]


@dataclass(frozen=True, eq=False)
class FitResult:
    """A fit of a pkpd model (frozen; made by :func:`~pkpd.estimation.fit_individual` and friends).

    Attributes
    ----------
    params : lmfit.Parameters
        Final lmfit parameters (values, standard errors, correlations, expressions).
    estimates : dict
        Model parameter values by pkpd name (natural scale).
    error_estimates : dict
        Residual error parameters (``SD``, ``CV``).
    ofv : float
        -2 log-likelihood at the estimates (for exponential error, of the log observations).
    aic, bic : float
        ``ofv + 2 k`` and ``ofv + k log n`` (``k`` estimated parameters including error parameters).
    covariance : DataFrame or None
        Covariance of the estimated lmfit parameters (on their estimation scale, e.g. ``log_CL``).
    predictions : DataFrame
        One row per fitted observation: ``ID TIME DV BLQ PRED RES WRES OFV_TERM``.
    success : bool
        False when the optimiser failed, the covariance is singular, an estimate is at a bound, there are no
        more observations than estimated parameters or the residual error collapsed (the names in
        :data:`pkpd.estimation.fit.FAILURES`).
    messages : tuple of str
        Every named problem, ``"NAME: text"`` (each also issued as a :class:`pkpd.ConvergenceWarning`):
        the reasons ``success`` is False, and notes that leave it alone (``POORLY_IDENTIFIED``,
        ``PREDOSE_EXCLUDED``, ``SUBJECTS_SKIPPED``). Rules: :mod:`pkpd.estimation.fit`.
    lmfit_result : lmfit.MinimizerResult
        The raw lmfit result.
    """

    model: Any
    label: str
    params: Any
    estimates: dict
    error: Any
    error_estimates: dict
    ofv: float
    aic: float
    bic: float
    n_obs: int
    n_blq: int
    blq_method: str
    n_estimated: int
    covariance: pd.DataFrame | None
    predictions: pd.DataFrame
    success: bool
    messages: tuple
    lmfit_result: Any = field(repr=False)
    problem: Any = field(repr=False)

    @property
    def warning_names(self) -> tuple:
        """The names of :attr:`messages` (``TOO_FEW_OBSERVATIONS``, ``POORLY_IDENTIFIED``, ...), in order."""
        return tuple(dict.fromkeys(m.split(":")[0] for m in self.messages))

    @property
    def correlation(self) -> pd.DataFrame | None:
        """Correlation matrix of the estimated parameters."""
        if self.covariance is None:
            return None
        sd = np.sqrt(np.diag(self.covariance.to_numpy()))
        return self.covariance / np.outer(sd, sd)

    @property
    def standard_errors(self) -> dict:
        """Standard error of every lmfit parameter that has one (estimated and expressions)."""
        return {name: p.stderr for name, p in self.params.items() if p.stderr is not None}

    def table(self) -> pd.DataFrame:
        """Estimates with standard errors and relative standard errors, one row per lmfit parameter."""
        rows = []
        for name, p in self.params.items():
            se = p.stderr if p.stderr is not None else math.nan
            status = "estimated" if p.vary else ("derived" if p.expr else "fixed")
            rse = 100 * se / abs(p.value) if p.value else math.nan
            rows.append({"parameter": name, "estimate": p.value, "std_error": se, "rse_percent": rse,
                         "status": status})
        return pd.DataFrame(rows).set_index("parameter")

    def report(self) -> str:
        """A plain-text report: status, OFV/AIC/BIC, the parameter table and any warnings."""
        head = [f"{self.label}: {self.model.name}, {self.n_obs} observations"
                + (f" ({self.n_blq} BLQ, {self.blq_method})" if self.n_blq else ""),
                f"error model: {self.error!r}",
                f"success: {self.success}"
                + (f" ({', '.join(self.warning_names)})" if self.warning_names else "")
                + f"   OFV {self.ofv:.4f}   AIC {self.aic:.4f}   BIC {self.bic:.4f}"]
        body = self.table().to_string(float_format=lambda v: f"{v:.6g}")
        notes = [f"warning: {m}" for m in self.messages]
        return "\n".join(head + ["", body] + ([""] + notes if notes else []))

    def __repr__(self) -> str:
        # model parameters that were estimated, directly or through an expression (CL = exp(log_CL))
        shown = {k: v for k, v in self.estimates.items()
                 if self.params[lmfit_name(k)].vary or self.params[lmfit_name(k)].expr}
        est = ", ".join(f"{k}={v:.4g}" for k, v in shown.items())
        return f"<FitResult {self.label}: success={self.success}, OFV={self.ofv:.4f}, {est}>"

    def _repr_html_(self) -> str:
        status = ("converged" if self.success else "<b style='color:#b00'>NOT converged</b>") + "".join(
            f"<br>{html.escape(m)}" for m in self.messages)
        return (f"<p><b>{self.label}</b> ({self.model.name}, {self.n_obs} observations) -- {status}<br>"
                f"OFV {self.ofv:.4f}, AIC {self.aic:.4f}, BIC {self.bic:.4f}</p>"
                + self.table().to_html(float_format=lambda v: f"{v:.6g}"))

    # -- predictions -----------------------------------------------------------------------------
    def predict(self, times, id=None) -> pd.DataFrame:
        """The fitted curve at ``times`` for subject ``id`` (default: the first), with its doses."""
        from ..engine.simulation import simulate

        data = self.problem.data
        sid = data.ids[0] if id is None else id
        ev = data.subject(sid).events
        doses = ev[ev["EVID"] != 0]
        grid = pd.DataFrame({"ID": sid, "TIME": np.asarray(times, dtype=float), "EVID": 2, "MDV": 1})
        table = pd.concat([doses, grid], ignore_index=True).sort_values("TIME", kind="stable")
        table = table[doses.columns].fillna({c: 0 for c in doses.columns if c not in ("DV",)})
        res = simulate(self.model, table, self.estimates, method=self.problem.engine)
        frame = pd.DataFrame({"TIME": res.time, "PRED": res[self.problem.output]})
        return frame[table["EVID"].to_numpy() == 2].reset_index(drop=True)

    def plot(self, id=None, log: bool = False):
        """Observations, the fitted curve and a residual panel; returns the matplotlib figure."""
        import matplotlib.pyplot as plt

        pred = self.predictions
        sid = pred["ID"].iloc[0] if id is None else id
        obs = pred[pred["ID"] == sid]
        fig, (ax, axr) = plt.subplots(2, 1, figsize=(6, 5), sharex=True, height_ratios=(3, 1),
                                      constrained_layout=True)
        t = np.linspace(0.0, float(obs["TIME"].max()) * 1.05, 400)
        curve = self.predict(t, sid)
        ax.plot(curve["TIME"], curve["PRED"], color="C0", label="fit")
        q = obs["BLQ"] == 0
        ax.plot(obs["TIME"][q], obs["DV"][q], "o", color="k", label="observed")
        if (~q).any():
            ax.plot(obs["TIME"][~q], self.problem.lloq[(pred["ID"] == sid).to_numpy()][~q.to_numpy()], "v",
                    color="grey", label="BLQ (at LLOQ)")
        if log:
            ax.set_yscale("log")
        ax.set_ylabel(self.problem.output)
        ax.legend(fontsize="small")
        ax.set_title(f"{self.label} (ID {sid})")
        axr.axhline(0.0, color="grey", linewidth=0.8)
        axr.plot(obs["TIME"], obs["WRES"], "o", color="C1")
        axr.set_ylabel("WRES")
        axr.set_xlabel("time (h)")
        return fig

    # -- profile likelihood ------------------------------------------------------------------------
    def profile(self, name: str, level: float = 0.95, *, steps: int = 12) -> tuple[float, float]:
        """Profile-likelihood confidence interval of the estimated lmfit parameter ``name``.

        The interval is where -2 log-likelihood, minimised over the other parameters with ``name`` held
        fixed, rises by less than the chi-square (1 df) quantile of ``level`` over its minimum (3.84 for
        95 %) -- the likelihood-ratio test. For the least-squares path (additive or exponential error) the
        OFV is the profiled -2 log-likelihood ``n log(RSS / n)`` (+ constants), the SD re-estimated with
        each refit. The search and root finding are :func:`lmfit.conf_interval`'s, with the LRT as its
        ``prob_func`` (not its default F-test); each refit is by least squares (additive or exponential
        error, no M3 records) or L-BFGS-B on the OFV, started from the estimates.

        Parameters
        ----------
        name : str
            An estimated lmfit parameter (``log_CL``, ``lKe``, ``log_err_CV``, ...); the interval is on
            its scale -- for ``log_CL`` the log of CL, so ``np.exp(fit.profile("log_CL"))`` is CL's.
        level : float
            Confidence level, between 0 and 1.
        steps : int
            How far each bound is sought: up to ``steps`` standard errors of ``name`` from the estimate,
            one refit per standard error (:func:`lmfit.conf_interval`'s ``maxiter`` is ``steps - 1``);
            the root is then found between the estimate and the first step past it.

        Returns
        -------
        (lower, upper) : tuple of float
            On the scale of ``name``. A bound the profile does not reach within ``steps`` standard errors
            (or before a bound of ``name``) is ``-inf`` / ``inf``, one whose root finding fails NaN; no
            warning is issued.

        Examples
        --------
        >>> import numpy as np, pkpd
        >>> from pkpd.models import OneCompartmentOral
        >>> fit = pkpd.fit_individual(OneCompartmentOral(), pkpd.load_dataset("theophylline").subject(1),
        ...                           pkpd.make_params(OneCompartmentOral(), {"CL": 2, "V": 30, "KA": 1.5},
        ...                                            log=("CL", "V", "KA"), fixed=("F1", "ALAG1")))
        >>> [round(float(v), 2) for v in np.exp(fit.profile("log_CL"))]          # CL 1.586 L/h
        [1.23, 1.97]
        """
        import lmfit

        if name not in self.params or not self.params[name].vary:
            raise KeyError(f"{name!r} is not an estimated parameter ({self.lmfit_result.var_names})")
        if not 0.0 < level < 1.0:                  # conf_interval reads a "sigma" of 1 or more as standard deviations
            raise ParameterError(f"profile: level must be between 0 and 1, got {level!r}")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ParameterError(f"profile: steps must be a positive integer, got {steps!r}")
        best = self.params[name].value
        se = self.params[name].stderr
        if se is None or not math.isfinite(se) or se <= 0:
            se = max(abs(best) * 0.1, 0.1)
        # conf_interval steps by the standard error only when it is below |value| (else by 0.2 |value|, which
        # near 0 -- log_KA of a KA near 1/h -- takes hundreds of refits): hand it the parameter shifted away from 0
        shift = 0.0 if se < abs(best) else math.copysign(2.0 * se, best)
        handed = lmfit.Parameters()
        for key, p in self.params.items():
            if p.vary:
                moved = shift if key == name else 0.0
                handed.add(key, value=p.value + moved, min=p.min + moved, max=p.max + moved)
        handed[name].stderr = se
        if len(handed) < 2:                      # conf_interval's guard for its F-test; an LRT needs none
            handed.add("profile_placeholder", value=1.0)
        refits = _Refits(self, name, shift)
        best_fit = SimpleNamespace(params=handed, chisqr=self.ofv)
        with warnings.catch_warnings():           # a bound not reached is inf, as documented
            warnings.filterwarnings("ignore", module=r"lmfit\.confidence")
            # min_rel_change -inf: search on where the profile is flat, or below the fit's OFV (a fit stopped short
            # of its minimum), rather than call the bound unreached at once
            ci = lmfit.conf_interval(refits, best_fit, p_names=[name], sigmas=[level], maxiter=steps - 1,
                                     prob_func=_likelihood_ratio_probability, min_rel_change=-math.inf)
        # [(level, lower), (0, estimate), (level, upper)]; a side whose root finding failed is missing (NaN here)
        rows = ci[name]
        at = [prob for prob, _ in rows].index(0.0)
        lower = rows[at - 1][1] if at > 0 else math.nan
        upper = rows[at + 1][1] if at + 1 < len(rows) else math.nan
        return float(lower) - shift, float(upper) - shift


def _likelihood_ratio_probability(best, refit) -> float:
    """``prob_func`` of :func:`lmfit.conf_interval`: the chi-square (1 df) CDF of the rise of -2 log-likelihood
    (both ``chisqr`` here are OFVs), so that probability ``level`` is the likelihood-ratio bound."""
    rise = max(refit.chisqr - best.chisqr, 0.0)
    return math.erf(math.sqrt(0.5 * rise))


class _Refits:
    """What :func:`lmfit.conf_interval` asks of its minimizer -- ``prepare_fit(params)``, then ``leastsq()`` --
    for the profile of ``name`` in ``fit``: refit the model with ``name`` held at the value conf_interval set
    (less ``shift``), the other parameters started from the estimates, and return the OFV as ``chisqr``.

    Not the fit's own lmfit Minimizer: conf_interval refits by ``leastsq`` whatever the objective, which for
    the scalar OFV of the likelihood path is wrong, and that Minimizer's finite-difference Jacobian (gradient)
    is set up for the fit's parameter set."""

    def __init__(self, fit, name, shift):
        self.fit, self.name, self.shift = fit, name, shift
        self.at = fit.params[name].value + shift
        self.ofv = {self.at: fit.ofv}              # the estimate: no refit
        self.value = self.at

    def prepare_fit(self, params):
        self.value = float(params[self.name].value)

    def leastsq(self):
        if self.value not in self.ofv:
            self.ofv[self.value] = self._refit(self.value - self.shift)
        return SimpleNamespace(chisqr=self.ofv[self.value])

    def _refit(self, value) -> float:
        p = self.fit.params.copy()
        p[self.name].set(value=value, vary=False)
        return self.fit.problem.refit_ofv(self.fit.model, p, self.fit.error)
