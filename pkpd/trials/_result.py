"""TrialResult: per-subject endpoints, per-arm summaries and time-course quantiles."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd


__all__ = ["TrialResult", "wilson", "median_ci", "LEVELS", "QUANTILES"]

#: Probability levels of a quantile sketch: a block's time courses are kept as their quantiles at these
#: levels (exact order statistics for blocks of up to 1000 subjects), merged block by block; reported
#: quantiles are accurate to about 1 / (len(LEVELS) - 1) in probability.
LEVELS = np.linspace(0.0, 1.0, 1001)

#: Quantiles reported in :attr:`TrialResult.timecourses`.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def sketch(values: np.ndarray) -> np.ndarray:
    """Quantiles ``(len(LEVELS), m)`` of ``values`` (subjects, times) at :data:`LEVELS`."""
    v = np.sort(np.asarray(values, dtype=float), axis=0)
    pos = LEVELS * (len(v) - 1)                      # numpy's "linear" quantile, vectorised over levels
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(v) - 1)
    frac = (pos - lo)[:, None]
    return v[lo] + frac * (v[hi] - v[lo])


def merge_sketches(a: np.ndarray, wa: float, b: np.ndarray, wb: float) -> np.ndarray:
    """Sketch of the mixture of two samples of sizes ``wa`` and ``wb`` (piecewise-linear CDFs)."""
    out = np.empty_like(a)
    for j in range(a.shape[1]):
        x = np.sort(np.concatenate([a[:, j], b[:, j]]))
        f = (wa * np.interp(x, a[:, j], LEVELS) + wb * np.interp(x, b[:, j], LEVELS)) / (wa + wb)
        f = np.maximum.accumulate(f)
        out[:, j] = np.interp(LEVELS, f, x)
    return out


def wilson(k: int, n: int, ci: float = 0.95) -> tuple:
    """Wilson score interval of a proportion ``k / n``.

    >>> [round(x, 4) for x in wilson(8, 10)]
    [0.4902, 0.9433]
    """
    if n == 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 + ci / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def median_ci(values, ci: float = 0.95) -> tuple:
    """Median and its distribution-free confidence interval (binomial order statistics); NaN counts as an
    event that did not happen (+inf, right-censored), so the median is inf when fewer than half had it.

    >>> median_ci(np.arange(1.0, 101.0))
    (50.5, 40.0, 61.0)
    """
    v = np.sort(np.where(np.isnan(np.asarray(values, dtype=float)), np.inf, values))
    n = len(v)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    med = float(np.median(v)) if np.isfinite(v[(n - 1) // 2]) and np.isfinite(v[n // 2]) else math.inf
    z = NormalDist().inv_cdf(0.5 + ci / 2)
    lo = int(math.floor(n / 2 - z * math.sqrt(n) / 2))
    hi = int(math.ceil(1 + n / 2 + z * math.sqrt(n) / 2))
    lo, hi = min(max(lo, 1), n), min(max(hi, 1), n)
    return (med, float(v[lo - 1]), float(v[hi - 1]))


@dataclass(frozen=True, eq=False)
class TrialResult:
    """Result of :func:`pkpd.run_trial`.

    Attributes
    ----------
    subjects : DataFrame
        One row per subject and arm: ``ID``, ``arm`` (categorical in design order), then one column per
        endpoint (bool for binary endpoints, float otherwise; NaN: a time to an event that did not happen).
    timecourses : DataFrame
        Quantiles of the kept outputs per arm and output time: ``arm``, ``output``, ``TIME``, then
        ``Q5 Q25 Q50 Q75 Q95`` (percent).
    design : TrialDesign
    seed : int
        The seed used (drawn when none was given).
    elapsed : float
        Wall-clock time of the simulation (s).
    """

    subjects: pd.DataFrame
    timecourses: pd.DataFrame
    design: Any = field(repr=False)
    seed: Any = None
    elapsed: float = math.nan
    block_size: int = 1000
    model_name: str = ""
    _sketches: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, *, subjects, design, seed, sketches, levels, elapsed, block_size, model_name):
        rows = []
        times = np.asarray(design.times, dtype=float)
        for (arm, output), sk in sketches.items():
            if sk is None:
                continue
            q = np.array([[np.interp(p, levels, sk[:, j]) for p in QUANTILES] for j in range(sk.shape[1])])
            frame = pd.DataFrame(q, columns=[f"Q{100 * p:g}" for p in QUANTILES])
            frame.insert(0, "TIME", times)
            frame.insert(0, "output", output)
            frame.insert(0, "arm", arm)
            rows.append(frame)
        cols = ["arm", "output", "TIME"] + [f"Q{100 * p:g}" for p in QUANTILES]
        tc = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)
        return cls(subjects=subjects, timecourses=tc, design=design, seed=seed, elapsed=elapsed,
                   block_size=block_size, model_name=model_name, _sketches=dict(sketches))

    @classmethod
    def combine(cls, results, design, *, model_name: str = "") -> "TrialResult":
        """One result from results of the same subjects and seed whose arms were simulated separately
        (e.g. with different models), in the arm order of ``design`` (which holds every arm)."""
        order = list(design.arm_names)
        subjects = pd.concat([r.subjects.astype({"arm": str}) for r in results], ignore_index=True)
        subjects["arm"] = pd.Categorical(subjects["arm"], categories=order)
        subjects = subjects.sort_values(["arm", "ID"], kind="stable").reset_index(drop=True)
        sketches = {key: sk for r in results for key, sk in r._sketches.items()}
        return cls(subjects=subjects, timecourses=pd.concat([r.timecourses for r in results], ignore_index=True),
                   design=design, seed=results[0].seed, elapsed=sum(r.elapsed for r in results),
                   block_size=results[0].block_size, model_name=model_name, _sketches=sketches)

    @property
    def n_subjects(self) -> int:
        """Subjects per arm."""
        return int(len(self.subjects) // max(1, len(self.design.arm_names)))

    @property
    def arms(self) -> tuple:
        return tuple(self.design.arm_names)

    def quantiles(self, output: str, q) -> pd.DataFrame:
        """Quantiles ``q`` (probabilities) of ``output`` per arm and time (wide: one column per ``q``).

        Any quantile can be read back from the kept sketches (to ~0.1 % in probability)."""
        q = np.atleast_1d(np.asarray(q, dtype=float))
        frames = []
        for arm in self.arms:
            sk = self._sketches.get((arm, output))
            if sk is None:
                raise KeyError(f"no time course kept for {output!r}; kept: "
                               f"{sorted({o for _, o in self._sketches})}")
            vals = np.array([[np.interp(p, LEVELS, sk[:, j]) for p in q] for j in range(sk.shape[1])])
            f = pd.DataFrame(vals, columns=[f"Q{100 * p:g}" for p in q])
            f.insert(0, "TIME", np.asarray(self.design.times, dtype=float))
            f.insert(0, "arm", arm)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def summarize(self, ci: float = 0.95) -> pd.DataFrame:
        """Per arm and endpoint: ``statistic`` (``fraction`` for binary endpoints and for the events of
        time endpoints, with a Wilson interval; ``median`` for times and values, with a distribution-free
        interval; a median time is inf when fewer than half the subjects had the event), ``estimate``,
        ``lower``, ``upper``, ``n``.
        """
        if not 0 < ci < 1:
            raise ValueError(f"ci must be in (0, 1), got {ci!r}")
        rows = []
        for arm in self.arms:
            part = self.subjects.loc[self.subjects["arm"] == arm]
            for ep in self.design.endpoints:
                v = part[ep.name].to_numpy()
                n = len(v)
                if ep.kind == "binary":
                    k = int(np.count_nonzero(v))
                    rows.append((arm, ep.name, "fraction", k / n if n else math.nan, *wilson(k, n, ci), n, ""))
                    continue
                if ep.kind == "time":
                    k = int(np.count_nonzero(np.isfinite(v)))
                    rows.append((arm, ep.name, "fraction", k / n if n else math.nan, *wilson(k, n, ci), n, ""))
                rows.append((arm, ep.name, "median", *median_ci(v, ci), n, ep.unit))
        return pd.DataFrame(rows, columns=["arm", "endpoint", "statistic", "estimate", "lower", "upper", "n", "unit"])

    def to_frame(self) -> pd.DataFrame:
        """The per-subject table (a copy)."""
        return self.subjects.copy()

    def report(self, ci: float = 0.95) -> str:
        """Plain-text summary: design, population size, seed, speed and the per-arm summary table."""
        s = self.summarize(ci)
        head = (f"Virtual trial: {self.model_name}, {len(self.arms)} arm(s) x {self.n_subjects} subjects, seed "
                f"{self.seed}, {self.elapsed:.1f} s ({self._rate():.0f} subject-arms/s)")
        body = s.to_string(index=False, float_format=lambda x: f"{x:.4g}")
        return f"{head}\n{body}"

    def _rate(self) -> float:
        return len(self.subjects) / self.elapsed if self.elapsed and self.elapsed > 0 else math.nan

    def _repr_html_(self) -> str:
        s = self.summarize()
        head = html.escape(f"Virtual trial: {self.model_name}, {len(self.arms)} arm(s) x {self.n_subjects} subjects, "
                           f"seed {self.seed}")
        return f"<div><p><b>{head}</b></p>{s.to_html(index=False, float_format=lambda x: f'{x:.4g}')}</div>"

    def __repr__(self) -> str:
        return (f"TrialResult(arms={list(self.arms)}, n_subjects={self.n_subjects}, "
                f"endpoints={[ep.name for ep in self.design.endpoints]}, seed={self.seed})")

    def plot(self, output: str | None = None, ax=None, **kw):
        """Median and ribbon of ``output`` per arm (:func:`pkpd.plot.ribbon`); returns the Axes."""
        from ..plot import ribbon

        return ribbon(self, output, ax=ax, **kw)
