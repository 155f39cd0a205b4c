"""Visual predictive checks (VPC): observed percentiles against the distribution of simulated ones.

The approach (Holford 2005; Karlsson & Holford 2008; Bergstrand et al. 2011, AAPS J 13:143 for the
prediction correction; Bergstrand & Karlsson 2009 for data below the limit of quantification):

1. the observation records are grouped into time bins (per stratum when ``stratify`` names a covariate);
2. ``n_sim`` replicates of the dataset are simulated from the model (new random effects and residual
   errors, the data's design and covariates);
3. in each bin, the observed percentiles (5th, 50th, 95th by default) are compared with the simulated
   ones: for each percentile its median over the replicates and a ``ci`` % interval (the
   ``(100 - ci) / 2`` and ``100 - (100 - ci) / 2`` percentiles over the replicates).

Prediction correction (pcVPC): each value is multiplied by ``median(PRED in its bin) / PRED`` (its
population prediction), observed and simulated alike, which removes the spread due to different doses
and covariates within a bin. Records with ``PRED <= 0`` cannot be corrected and are left out (with a
warning). The variability correction of Bergstrand 2011 is not applied. With an exponential error
(log-transform both sides) values stay on the natural scale (simulated as ``IPRED * exp(SD * EPS)``); the
multiplicative correction is then Bergstrand's additive correction of the logs, and percentiles are order
statistics, the same on either scale up to the interpolation between neighbouring values.

BLQ data (an ``LLOQ`` column or the ``lloq`` argument): a BLQ observation (``BLQ`` = 1, or ``DV`` below its
LLOQ) and a simulated value below the LLOQ of its record are censored: they count as "below the LLOQ"
when percentiles are taken, and a percentile (observed, or a simulated median or CI bound) that falls
below the bin's LLOQ (the highest LLOQ of its records; corrected like the values in a pcVPC) is reported
as NaN. The table then also reports, per bin, the observed fraction of BLQ records and the median and
``ci`` % interval of the simulated fraction.

Binning: by default ``n_bins = 8`` bins of about equal numbers of observations, cut between distinct times
only (records at the same time stay together; a nominal design gets one bin per time when it has at most
8 times); ``bins`` may give the number of bins or explicit edges (observations outside the edges are
left out, with a warning). A bin is ``[lower, upper)``, the last one closed.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DatasetError, ParameterError
from ._replicates import check_n_sim, fitted_data, observations_of, population_model_of, simulate_replicates

__all__ = ["vpc", "VPCResult", "DEFAULT_BINS"]

#: Number of time bins by default.
DEFAULT_BINS = 8
#: Censored (below-LLOQ) values take this value when percentiles are taken: below any real value, finite so
#: that interpolated percentiles stay finite.
_CENSORED = -1e300


@dataclass(frozen=True, eq=False)
class VPCResult:
    """A visual predictive check: observed and simulated percentiles per time bin.

    Attributes
    ----------
    table : DataFrame
        One row per bin (and stratum): the stratum value (column named as the ``stratify`` covariate, when
        given), ``bin`` (0, 1, ...), ``time_lower``, ``time_upper`` (edges), ``time_median`` (median time of
        the observations in the bin), ``n_obs``; for each percentile ``p`` (column prefix ``p5``, ``p50``,
        ``p95``, ``p2.5``...): ``<p>_observed``, ``<p>_sim_median``, ``<p>_sim_lower`` and ``<p>_sim_upper``
        (NaN where censored below the LLOQ); with an LLOQ: ``lloq``, ``n_blq``, ``blq_observed`` (fraction),
        ``blq_sim_median``, ``blq_sim_lower`` and ``blq_sim_upper``.
    observed : DataFrame
        The observations plotted: ``ID``, ``TIME``, ``DV`` (or ``pcDV``), ``BLQ``, ``bin`` (and the stratum
        column); records outside explicit bins or left out of a pcVPC are absent.
    percentiles : tuple of float
    ci : float
        Width (%) of the simulated intervals.
    n_sim : int
    prediction_corrected : bool
    stratify : str or None
    output : str
        The model output compared with ``DV`` (e.g. ``"CP"``).
    unit : str
        Its unit where known (e.g. ``"mg/L"``), else ``""``.
    has_lloq : bool
        Whether the data have a limit of quantification (BLQ columns in the table).
    """

    table: pd.DataFrame = field(repr=False)
    observed: pd.DataFrame = field(repr=False)
    percentiles: tuple
    ci: float
    n_sim: int
    prediction_corrected: bool = False
    stratify: str | None = None
    output: str = ""
    unit: str = ""
    has_lloq: bool = False

    @property
    def value_column(self) -> str:
        """``"pcDV"`` for a prediction-corrected VPC, else ``"DV"``."""
        return "pcDV" if self.prediction_corrected else "DV"

    def inside_bands(self) -> pd.DataFrame:
        """Whether each observed percentile (and fraction BLQ) lies within the simulated ``ci`` % interval.

        A percentile censored below the LLOQ (NaN) counts as "below the LLOQ": a censored observed
        percentile is inside when the simulated lower bound is censored too, and a censored upper bound
        does not contain an observed value above the LLOQ.

        Returns
        -------
        DataFrame
            The key columns of :attr:`table` (stratum, ``bin``, ``time_median``) and one boolean column per
            percentile (``p5``, ``p50``, ``p95``), plus ``blq`` with an LLOQ.
        """
        keys = ([self.stratify] if self.stratify else []) + ["bin", "time_median"]
        out = self.table[keys].copy()
        for p in self.percentiles:
            name = _label(p)
            obs, lo, hi = (self.table[f"{name}_{s}"].to_numpy(dtype=float).copy()
                           for s in ("observed", "sim_lower", "sim_upper"))
            for arr in (obs, lo, hi):
                arr[np.isnan(arr)] = -np.inf
            out[name] = (obs >= lo) & (obs <= hi)
        if self.has_lloq:
            frac = self.table["blq_observed"].to_numpy(dtype=float)
            lo, hi = self.table["blq_sim_lower"].to_numpy(), self.table["blq_sim_upper"].to_numpy()
            out["blq"] = (frac >= lo) & (frac <= hi)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The per-bin table (a copy)."""
        return self.table.copy()

    def plot(self, ax=None, **options):
        """The VPC plot (:func:`pkpd.plot.vpc`); returns the Axes."""
        from ..plot import vpc as plot_vpc

        return plot_vpc(self, ax=ax, **options)

    def report(self) -> str:
        """Plain text: the settings, the table and the bins where an observed percentile is outside its band."""
        inside = self.inside_bands()
        flags = [c for c in inside.columns if c not in ("bin", "time_median", self.stratify)]
        outside = [f"bin {r['bin']}" + (f" ({self.stratify} {r[self.stratify]})" if self.stratify else "")
                   + f": {c}" for _, r in inside.iterrows() for c in flags if not r[c]]
        head = (f"{'pcVPC' if self.prediction_corrected else 'VPC'} of {self.output or 'DV'}: {self.n_sim} "
                f"replicates, percentiles {', '.join(f'{p:g}' for p in self.percentiles)}, {self.ci:g} % intervals")
        tail = (f"outside the simulated {self.ci:g} % intervals: " + "; ".join(outside) if outside
                else f"every observed percentile is inside its simulated {self.ci:g} % interval")
        return "\n".join([head, "", self.table.to_string(float_format=lambda v: f"{v:.4g}"), "", tail])

    def __repr__(self) -> str:
        return (f"VPCResult({'pcVPC' if self.prediction_corrected else 'VPC'}, {len(self.table)} bin"
                + ("" if len(self.table) == 1 else "s")
                + (f" by {self.stratify}" if self.stratify else "") + f", {len(self.observed)} observations, "
                f"n_sim={self.n_sim}, percentiles={tuple(float(p) for p in self.percentiles)}, ci={self.ci:g})")

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.table.to_html(float_format=lambda v: f"{v:.4g}", na_rep="")


def vpc(fit, data=None, *, n_sim: int = 500, seed=None, bins=None, percentiles=(5, 50, 95), ci: float = 95,
        prediction_corrected: bool = False, stratify: str | None = None, lloq=None) -> VPCResult:
    """Visual predictive check of a population model on its data.

    Parameters
    ----------
    fit : PopulationFitResult or PopulationModel
        A population fit (its ``final_model`` is simulated) or a population model as it is.
    data : Dataset or DataFrame
        The observed data (design, covariates and observations). Required unless ``fit`` carries its data
        in a ``data`` attribute.
    n_sim : int
        Number of simulated replicates of the dataset (>= 10).
    seed : int or Generator, optional
    bins : int or array_like, optional
        Number of time bins of about equal counts (default 8), or strictly increasing bin edges (h).
    percentiles : sequence of float
        Percentiles compared, each in (0, 100).
    ci : float
        Width (%) of the interval of each simulated percentile, in (0, 100).
    prediction_corrected : bool
        Prediction-corrected VPC (Bergstrand 2011): ``pcDV = DV * median(PRED in bin) / PRED``.
    stratify : str, optional
        A column of the data (a covariate): one VPC per value, with its own bins.
    lloq : float, optional
        Limit of quantification of records without an ``LLOQ`` value.

    Returns
    -------
    VPCResult

    Raises
    ------
    ParameterError
        ``n_sim`` < 10, bad ``bins``, ``percentiles`` or ``ci``, or ``stratify`` naming no column of the data.
    DatasetError
        The ``stratify`` column is missing on an observation record.

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.5, "V": 20.0}, {"CL": 0.05},
    ...                           pkpd.ProportionalError(0.45))
    >>> result = pkpd.vpc(pm, pkpd.load_dataset("indometacin"), n_sim=100, seed=1, bins=4)
    >>> result.table[["bin", "time_lower", "time_upper", "n_obs"]]
       bin  time_lower  time_upper  n_obs
    0    0       0.250       0.875     18
    1    1       0.875       1.625     12
    2    2       1.625       4.500     18
    3    3       4.500       8.000     18
    >>> result.inside_bands()      # one compartment misses indometacin's distribution phase
       bin  time_median     p5    p50    p95
    0    0        0.500  False  False  False
    1    1        1.125   True   True  False
    2    2        3.000   True  False  False
    3    3        6.000  False   True  False
    """
    popmodel = population_model_of(fit, "vpc")
    data = fitted_data(fit, data, "vpc")
    n_sim = check_n_sim(n_sim, "vpc")
    percentiles = _check_percentiles(percentiles)
    ci = _check_ci(ci)
    edges_given, n_bins = _check_bins(bins)
    events = data.events
    if stratify is not None and stratify not in events.columns:
        raise ParameterError(f"vpc: stratify names {stratify!r}, which is not a column of the data "
                             f"(columns: {list(events.columns)})")
    obs = observations_of(data, lloq)
    rows = obs.rows
    time = events["TIME"].to_numpy(dtype=float)[rows]
    limit = obs.lloq.astype(float)
    has_lloq = bool(np.isfinite(limit).any())
    strata = events[stratify].to_numpy()[rows] if stratify else np.zeros(len(rows))
    if stratify and pd.isna(strata).any():
        i = int(np.flatnonzero(pd.isna(strata))[0])
        raise DatasetError(f"vpc: stratify column {stratify!r} is missing on observation records (e.g. ID "
                           f"{events['ID'].to_numpy()[rows][i]}, TIME {time[i]:g})")
    rng = np.random.default_rng(seed)
    simulated, pred = simulate_replicates(popmodel, data, n_sim, rng, len(rows))
    value = obs.y.astype(float).copy()
    censored_obs = obs.blq.copy()
    with np.errstate(invalid="ignore"):
        censored_sim = simulated < limit                    # NaN limit: never censored
    keep = np.ones(len(rows), dtype=bool)
    if prediction_corrected:
        bad = ~(pred > 0)
        if bad.any():
            warnings.warn(f"vpc: {int(bad.sum())} record(s) with a population prediction PRED <= 0 (e.g. ID "
                          f"{events['ID'].to_numpy()[rows][bad][0]}, TIME {time[bad][0]:g}) cannot be prediction-"
                          "corrected and are left out", RuntimeWarning, stacklevel=2)
            keep &= ~bad

    table_rows, bin_of = [], np.full(len(rows), -1)
    factor = np.ones(len(rows))
    z = (100.0 - ci) / 2.0
    for stratum in _unique(strata[keep]):
        in_stratum = keep & (strata == stratum)
        edges = edges_given if edges_given is not None else _equal_count_edges(time[in_stratum], n_bins)
        index = _assign(time, edges) if in_stratum.any() else np.full(len(rows), -1)
        index[~in_stratum] = -1
        bin_of[in_stratum] = index[in_stratum]
        for b in range(len(edges) - 1):
            idx = np.flatnonzero(index == b)
            if not len(idx):
                continue
            threshold = -np.inf
            if prediction_corrected:
                factor[idx] = np.median(pred[idx]) / pred[idx]
            lim = limit[idx] * factor[idx]
            if np.isfinite(lim).any():
                threshold = float(np.nanmax(lim))
            y_obs = np.where(censored_obs[idx], _CENSORED, value[idx] * factor[idx])
            y_sim = np.where(censored_sim[:, idx], _CENSORED, simulated[:, idx] * factor[idx])
            row = {} if stratify is None else {stratify: stratum}
            row.update(bin=b, time_lower=float(edges[b]), time_upper=float(edges[b + 1]),
                       time_median=float(np.median(time[idx])), n_obs=len(idx))
            obs_p = np.percentile(y_obs, percentiles)
            sim_p = np.percentile(y_sim, percentiles, axis=1)             # (n_percentiles, n_sim)
            summary = np.percentile(sim_p, [50.0, z, 100.0 - z], axis=1)  # (3, n_percentiles)
            for j, p in enumerate(percentiles):
                name = _label(p)
                row[f"{name}_observed"] = _uncensored(obs_p[j], threshold)
                for k, what in enumerate(("sim_median", "sim_lower", "sim_upper")):
                    row[f"{name}_{what}"] = _uncensored(summary[k, j], threshold)
            if has_lloq:
                frac_sim = censored_sim[:, idx].mean(axis=1)
                lo, med, hi = np.percentile(frac_sim, [z, 50.0, 100.0 - z])
                row.update(lloq=threshold if math.isfinite(threshold) else math.nan,
                           n_blq=int(censored_obs[idx].sum()), blq_observed=float(censored_obs[idx].mean()),
                           blq_sim_median=float(med), blq_sim_lower=float(lo), blq_sim_upper=float(hi))
            table_rows.append(row)
    outside = keep & (bin_of < 0)
    if edges_given is not None and outside.any():
        warnings.warn(f"vpc: {int(outside.sum())} observation(s) outside the bin edges [{edges_given[0]:g}, "
                      f"{edges_given[-1]:g}] are left out", RuntimeWarning, stacklevel=2)
    if not table_rows:
        raise DatasetError("vpc: no observation falls in any bin")
    table = pd.DataFrame(table_rows)
    used = bin_of >= 0
    column = "pcDV" if prediction_corrected else "DV"
    observed = pd.DataFrame({"ID": events["ID"].to_numpy()[rows], "TIME": time, column: value * factor,
                             "BLQ": censored_obs.astype(int), "bin": bin_of})
    if stratify:
        observed[stratify] = strata
    observed = observed.loc[used].reset_index(drop=True)
    output = popmodel.output or popmodel.model.outputs[0]
    return VPCResult(table=table, observed=observed, percentiles=tuple(float(p) for p in percentiles), ci=ci,
                     n_sim=n_sim, prediction_corrected=bool(prediction_corrected), stratify=stratify,
                     output=output, unit=_unit(popmodel.model, output), has_lloq=has_lloq)


# ---------------------------------------------------------------------------------------------------
def _label(p: float) -> str:
    """Column prefix of a percentile: 5 -> "p5", 2.5 -> "p2.5"."""
    return f"p{float(p):g}"


def _uncensored(value: float, threshold: float) -> float:
    return float(value) if value >= threshold else math.nan


def _unique(values):
    try:
        return sorted(pd.unique(values))
    except TypeError:
        return list(pd.unique(values))


def _unit(model, output: str) -> str:
    from ..engine import output_units

    try:
        return output_units(model, [output]).get(output, "")
    except Exception:                                   # pragma: no cover - a model the unit table cannot read
        return ""


def _check_percentiles(percentiles) -> np.ndarray:
    try:
        values = np.atleast_1d(np.asarray(percentiles, dtype=float))
    except (TypeError, ValueError):
        raise ParameterError(f"vpc: percentiles must be numbers in (0, 100), got {percentiles!r}") from None
    if values.ndim != 1 or not len(values) or not np.all((values > 0) & (values < 100)):
        raise ParameterError(f"vpc: percentiles must be numbers in (0, 100), got {percentiles!r}")
    if len(np.unique(values)) != len(values):
        raise ParameterError(f"vpc: percentiles must differ, got {percentiles!r}")
    return np.sort(values)


def _check_ci(ci) -> float:
    if isinstance(ci, bool) or not isinstance(ci, numbers.Real) or not 0 < ci < 100:
        raise ParameterError(f"vpc: ci must be a width in % in (0, 100), e.g. 95, got {ci!r}")
    return float(ci)


def _check_bins(bins):
    """``(edges or None, number of bins)``."""
    if bins is None:
        return None, DEFAULT_BINS
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if bins < 1:
            raise ParameterError(f"vpc: the number of bins must be >= 1, got {bins}")
        return None, int(bins)
    try:
        if isinstance(bins, (str, bytes, numbers.Number)):
            raise TypeError
        edges = np.asarray(bins, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"vpc: bins must be a number of bins or increasing edges, got {bins!r}") from None
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.isfinite(edges)):
        raise ParameterError(f"vpc: bin edges must be at least two finite times, got {bins!r}")
    if not np.all(np.diff(edges) > 0):
        i = int(np.flatnonzero(np.diff(edges) <= 0)[0])
        raise ParameterError(f"vpc: bin edges must be strictly increasing, but edge {i + 1} ({edges[i + 1]:g}) "
                             f"follows {edges[i]:g}")
    return edges, len(edges) - 1


def _equal_count_edges(times: np.ndarray, n_bins: int) -> np.ndarray:
    """Edges of up to ``n_bins`` bins of about equal counts, cut halfway between distinct times."""
    ts = np.sort(times)
    n = len(ts)
    if n == 0:
        return np.array([0.0, 1.0])
    candidates = np.flatnonzero(ts[1:] != ts[:-1]) + 1      # cut before position i: ts[i-1] < ts[i]
    if not len(candidates):
        return np.array([ts[0], ts[0]])
    cuts = []
    for k in range(1, n_bins):
        target = k * n / n_bins
        cuts.append(int(candidates[np.argmin(np.abs(candidates - target))]))
    cuts = sorted(set(cuts))
    inner = [(ts[i - 1] + ts[i]) / 2.0 for i in cuts]
    return np.array([ts[0], *inner, ts[-1]], dtype=float)


def _assign(times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each time (``[lower, upper)``, the last bin closed); -1 outside the edges."""
    index = np.searchsorted(edges, times, side="right") - 1
    last = len(edges) - 2
    index[(times == edges[-1])] = last
    index[(times < edges[0]) | (times > edges[-1])] = -1
    return np.minimum(index, last) if last >= 0 else index
