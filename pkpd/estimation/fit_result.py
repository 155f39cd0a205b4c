"""The result of a fit: estimates, OFV, covariance, predictions and residuals, report, plot, profiles."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

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
        """Profile-likelihood confidence interval of the lmfit parameter ``name``.

        The OFV is minimised over the other parameters with ``name`` fixed; the interval is where the
        increase stays below the chi-square quantile (3.84 for 95 %). For the least-squares path the
        OFV is the profiled -2 log-likelihood ``n log(RSS / n)`` (+ constants).
        """
        from .fit import _fit_least_squares, _fit_likelihood, _least_squares_ok

        if name not in self.params or not self.params[name].vary:
            raise KeyError(f"{name!r} is not an estimated parameter ({self.lmfit_result.var_names})")
        target = self.ofv + ndtri(0.5 + level / 2) ** 2        # chi2(1) quantile, without scipy.stats
        best = self.params[name].value
        se = self.params[name].stderr or max(abs(best) * 0.1, 0.1)

        def ofv_at(value):
            p = self.params.copy()
            p[name].set(value=value, vary=False)
            if _least_squares_ok(self.error, self.problem) and len(self.problem.y) >= sum(q.vary for q in p.values()):
                r = _fit_least_squares(self.model, self.problem, p, self.error, "profile", quiet=True)
            else:
                r = _fit_likelihood(self.model, self.problem, p, self.error, "lbfgsb", "profile", quiet=True)
            return r.ofv

        def side(direction):
            lo, step = best, se
            for _ in range(steps):
                hi = best + direction * step
                if ofv_at(hi) > target:
                    break
                lo, step = hi, step * 2
            else:
                return direction * math.inf
            for _ in range(40):                       # bisection on the crossing
                mid = 0.5 * (lo + hi)
                if ofv_at(mid) > target:
                    hi = mid
                else:
                    lo = mid
                if abs(hi - lo) < 1e-6 * max(1.0, abs(best)):
                    break
            return 0.5 * (lo + hi)

        return side(-1.0), side(1.0)
