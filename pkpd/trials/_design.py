"""Trial designs: arms (regimens), output times and endpoints, validated before any simulation."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Callable, Union

import numpy as np
import pandas as pd

from ..dosing import Bolus, Infusion, Regimen
from .endpoints import Endpoint
from .._internal.html import fields_table, rows_table
from ..errors import DatasetError, ModelError, ParameterError

__all__ = ["Dose", "TrialDesign"]

_EVENT_COLUMNS = ("ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS")


@dataclass(frozen=True)
class Dose:
    """A dose given to every subject of an arm, optionally scaled by body weight (covariate ``WT``, kg).

    Parameters
    ----------
    cmt : str or int
        Compartment (name such as ``"LEV.CENTRAL"`` or 1-based number).
    amount : float
        Amount (mg), or mg/kg with ``per_kg``.
    per_kg : bool
        Multiply ``amount`` by each subject's ``WT``.
    max_amount : float, optional
        Cap on the amount given (mg).
    time : float
        Time of the dose (h).
    duration : float, optional
        Infusion duration (h); ``None`` is a bolus.
    ii, addl : float, int
        Dosing interval (h) and number of additional doses, as in NONMEM.

    Examples
    --------
    ESETT's levetiracetam, 60 mg/kg (max 4500 mg) over 10 min, 40 min after seizure onset:

    >>> import pandas as pd
    >>> from pkpd.trials import Dose
    >>> lev = Dose("LEV.CENTRAL", 60, per_kg=True, max_amount=4500, time=40 / 60, duration=10 / 60)
    >>> lev.amounts(pd.DataFrame({"WT": [50.0, 90.0]})).tolist()
    [3000.0, 4500.0]
    """

    cmt: Union[str, int]
    amount: float
    per_kg: bool = False
    max_amount: float | None = None
    time: float = 0.0
    duration: float | None = None
    ii: float = 0.0
    addl: int = 0

    def _repr_html_(self) -> str:
        return fields_table(self)

    def __post_init__(self):
        # let Bolus / Infusion validate the numbers and the compartment
        try:
            self.as_dose(float(self.amount) if isinstance(self.amount, Real) else self.amount)
        except DatasetError as exc:
            raise ParameterError(str(exc).replace("Bolus", "Dose").replace("Infusion", "Dose")) from None
        if self.max_amount is not None and (not isinstance(self.max_amount, Real) or not self.max_amount >= 0
                                            or not math.isfinite(self.max_amount)):
            raise ParameterError(f"Dose: max_amount={self.max_amount!r} must be a finite amount >= 0 (mg)")

    def as_dose(self, amount: float):
        """This dose for one subject receiving ``amount`` mg (a :class:`Bolus` or :class:`Infusion`)."""
        if self.duration:
            return Infusion(amount, time=self.time, cmt=self.cmt, duration=self.duration, ii=self.ii, addl=self.addl)
        return Bolus(amount, time=self.time, cmt=self.cmt, ii=self.ii, addl=self.addl)

    def amounts(self, covariates: pd.DataFrame) -> np.ndarray:
        """Amount (mg) for each subject (row) of ``covariates``."""
        n = len(covariates)
        amt = np.full(n, float(self.amount))
        if self.per_kg:
            if "WT" not in covariates.columns:
                raise ParameterError("Dose: per_kg needs a body-weight covariate column 'WT' (kg)")
            wt = covariates["WT"].to_numpy(dtype=float)
            bad = ~np.isfinite(wt) | (wt <= 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ParameterError(f"Dose: WT={wt[i]!r} of subject row {i} is not a positive weight")
            amt = amt * wt
        if self.max_amount is not None:
            amt = np.minimum(amt, float(self.max_amount))
        return amt


Arm = Union[Regimen, Bolus, Infusion, Callable, Sequence]


def _check_cmt(model, cmt, where):
    """``cmt`` is a compartment of ``model`` (None, 0 or "0": its default dose compartment, :meth:`Model.dose_index`)."""
    try:
        model.dose_index(cmt)
    except (ModelError, ValueError, TypeError) as err:
        raise ModelError(f"{where}: compartment {cmt!r}: {err}") from None


@dataclass(frozen=True, eq=False)
class TrialDesign:
    """Arms, output times and endpoints of a virtual trial.

    Parameters
    ----------
    arms : mapping of str to arm
        Each arm is a :class:`~pkpd.Regimen` (or one dose) given to every subject; a list of :class:`Dose`
        (amounts may scale with weight); or a callable ``covariates -> list of Regimens`` (one per row) or
        ``-> event table`` (``ID`` as in ``covariates``, NONMEM columns ``TIME EVID AMT RATE CMT``...).
    times : sequence of float, optional
        Output times (h) whose quantiles are kept as time courses (strictly increasing, >= 0); endpoints
        that read the whole grid (time to termination, Cmax ...) also use them. The simulation of a subject
        starts at its first record: the earliest of its first dose and the first output time.
    endpoints : sequence of Endpoint
        From :mod:`pkpd.trials.endpoints`; names must be unique.

    Raises
    ------
    ParameterError
        An arm without doses, a malformed arm, times not strictly increasing or negative, duplicate
        endpoint names. The model-dependent checks (unknown compartments or outputs) are in :meth:`check`,
        which :func:`pkpd.run_trial` calls before simulating.

    Examples
    --------
    >>> import numpy as np, pkpd, pkpd.trials
    >>> from pkpd import endpoints, scenarios
    >>> design = pkpd.trials.TrialDesign(
    ...     arms={"early": scenarios.treat(5), "late": scenarios.treat(30)},
    ...     times=np.linspace(0, 4, 17), endpoints=[endpoints.terminated_by(4.0), endpoints.time_to_termination()])
    >>> design.arm_names, len(design.grid)
    (('early', 'late'), 17)
    >>> pkpd.trials.TrialDesign(arms={"none": pkpd.Regimen([])}, times=[0, 1])
    Traceback (most recent call last):
    ...
    pkpd.errors.ParameterError: arm 'none' has no doses
    """

    arms: Mapping[str, Arm]
    times: Sequence[float] | None = None
    endpoints: Sequence[Endpoint] = ()
    _grid: np.ndarray = field(init=False, repr=False, compare=False)

    def _repr_html_(self) -> str:
        # each arm is normalised to (kind, value): a Regimen, a tuple of Dose, or a callable of the covariates
        rows = [(name, kind, len(value) if kind != "callable" else "per subject")
                for name, (kind, value) in self.arms.items()]
        title = (f"TrialDesign: {len(self.arms)} arms, {len(self.times)} output times; endpoints "
                 + ", ".join(ep.name for ep in self.endpoints))
        return rows_table(title, ("arm", "given as", "doses"), rows)

    def __post_init__(self):
        if not isinstance(self.arms, Mapping) or not self.arms:
            raise ParameterError("TrialDesign: arms must be a non-empty mapping of arm name to regimen")
        arms = {}
        for name, arm in self.arms.items():
            if not isinstance(name, str) or not name:
                raise ParameterError(f"TrialDesign: arm names must be non-empty strings, got {name!r}")
            arms[name] = _normalise_arm(name, arm)
        object.__setattr__(self, "arms", arms)
        if self.times is None:
            times = np.zeros(0)
        else:
            try:
                times = np.atleast_1d(np.asarray(self.times, dtype=float))
            except (TypeError, ValueError):
                raise ParameterError(f"TrialDesign: times must be numbers (h), got {self.times!r}") from None
            if times.ndim != 1 or not np.all(np.isfinite(times)):
                raise ParameterError("TrialDesign: times must be a 1-D sequence of finite numbers (h)")
            if times.size and times[0] < 0:
                raise ParameterError(f"TrialDesign: times must be >= 0, got {times[0]!r}")
            bad = np.flatnonzero(np.diff(times) <= 0)
            if bad.size:
                i = int(bad[0])
                raise ParameterError(f"TrialDesign: times must be strictly increasing; times[{i}]={times[i]!r} "
                                     f"then times[{i + 1}]={times[i + 1]!r}")
        times.flags.writeable = False
        object.__setattr__(self, "times", times)
        eps = tuple(self.endpoints)
        for ep in eps:
            if not isinstance(ep, Endpoint):
                raise ParameterError(f"TrialDesign: endpoints must be pkpd.trials.endpoints Endpoint objects, got {ep!r}")
        names = [ep.name for ep in eps]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ParameterError(f"TrialDesign: endpoint name(s) {dup} are used twice; pass name=... to tell apart")
        clash = sorted(set(names) & {"ID", "arm"})
        if clash:
            raise ParameterError(f"TrialDesign: endpoint name(s) {clash} are reserved")
        object.__setattr__(self, "endpoints", eps)
        grid = np.unique(np.concatenate([times] + [np.asarray(ep.times, dtype=float) for ep in eps]))
        if grid.size == 0:
            raise ParameterError("TrialDesign: no output times: give times or an endpoint that declares them")
        grid.flags.writeable = False
        object.__setattr__(self, "_grid", grid)

    @property
    def arm_names(self) -> tuple:
        return tuple(self.arms)

    @property
    def grid(self) -> np.ndarray:
        """Every simulated output time (h): ``times`` and the endpoints' times, sorted."""
        return self._grid

    @property
    def outputs(self) -> tuple:
        """Outputs read by the endpoints, in order of first use."""
        return tuple(dict.fromkeys(o for ep in self.endpoints for o in ep.outputs))

    def check(self, model, covariates: pd.DataFrame | None = None) -> None:
        """Model-dependent validation: compartments of the doses, outputs of the endpoints, and (with
        ``covariates``) weights for per-kg doses and callable arms on the first subjects.

        Raises :class:`~pkpd.ModelError` or :class:`~pkpd.ParameterError` naming the arm or endpoint.
        """
        available = set(model.outputs) | set(model.states)
        for ep in self.endpoints:
            ep.check(available)
        for name, (kind, arm) in self.arms.items():
            where = f"arm {name!r}"
            if kind == "regimen":
                for d in arm:
                    _check_cmt(model, d.cmt, where)
            elif kind == "doses":
                for d in arm:
                    _check_cmt(model, d.cmt, where)
                    if covariates is not None:
                        try:
                            d.amounts(covariates)
                        except ParameterError as exc:
                            raise ParameterError(f"{where}: {exc}") from None
            elif covariates is not None:
                ev = arm_events(name, self.arms[name], model, covariates.iloc[:2], np.arange(min(2, len(covariates))))
                if not (ev["EVID"] != 0).any():
                    raise ParameterError(f"{where}: the callable gave no doses")

    def __repr__(self) -> str:
        eps = ", ".join(ep.name for ep in self.endpoints)
        return (f"TrialDesign(arms={list(self.arms)}, times=[{len(self.times)} times], endpoints=[{eps}])")


def _normalise_arm(name, arm):
    where = f"arm {name!r}"
    if isinstance(arm, (Bolus, Infusion)):
        arm = Regimen([arm])
    if isinstance(arm, Regimen):
        if len(arm) == 0:
            raise ParameterError(f"{where} has no doses")
        return ("regimen", arm)
    if callable(arm):
        return ("callable", arm)
    if isinstance(arm, (list, tuple)):
        if not arm:
            raise ParameterError(f"{where} has no doses")
        if all(isinstance(d, Dose) for d in arm):
            return ("doses", tuple(arm))
        if all(isinstance(d, (Bolus, Infusion)) for d in arm):
            return ("regimen", Regimen(list(arm)))
    raise ParameterError(f"{where}: expected a Regimen, a list of pkpd.trials.Dose or a callable "
                         f"(covariates -> regimens or events), got {type(arm).__name__}")


def _cmt_numbers(model, cmt) -> np.ndarray:
    """1-based dose compartment numbers of ``cmt`` (names or numbers), each distinct value looked up once."""
    cmt = np.asarray(cmt, dtype=object)
    out = np.empty(len(cmt), dtype=np.int64)
    known: dict = {}
    for i, c in enumerate(cmt):
        key = (type(c), c)
        if key not in known:
            known[key] = model.dose_index(c) + 1
        out[i] = known[key]
    return out


def arm_events(name, normalised, model, covariates: pd.DataFrame, local_ids) -> pd.DataFrame:
    """Dose records (canonical columns, ``CMT`` as numbers) of an arm for ``covariates``' subjects, with IDs
    ``local_ids`` (one per row)."""
    kind, arm = normalised
    k = len(covariates)
    local_ids = np.asarray(local_ids)
    where = f"arm {name!r}"
    if kind == "regimen":
        one = arm.to_events(id=1)
        one = one.loc[one["EVID"].isin([1, 3, 4])]
        r = len(one)
        ev = pd.DataFrame({c: np.tile(one[c].to_numpy(), k) for c in _EVENT_COLUMNS if c != "ID"})
        ev.insert(0, "ID", np.repeat(local_ids, r))
    elif kind == "doses":
        parts = []
        for d in arm:
            amt = d.amounts(covariates)
            rate = amt / d.duration if d.duration else np.zeros(k)
            parts.append(pd.DataFrame({"ID": local_ids, "TIME": float(d.time), "EVID": 1, "AMT": amt, "RATE": rate,
                                       "CMT": [d.cmt] * k, "II": float(d.ii), "ADDL": int(d.addl), "SS": 0}))
        ev = pd.concat(parts, ignore_index=True)
    else:
        try:
            got = arm(covariates.reset_index(drop=True))
        except (ParameterError, ModelError):
            raise
        except Exception as exc:          # name the arm: a user's callable failed
            raise ParameterError(f"{where}: the arm's callable failed: {exc!r}") from exc
        if isinstance(got, pd.DataFrame):
            missing = [c for c in ("ID", "TIME", "AMT", "CMT") if c not in got.columns]
            if missing:
                raise ParameterError(f"{where}: the event table lacks column(s) {missing}")
            got = got.copy()
            for c, default in (("EVID", 1), ("RATE", 0.0), ("II", 0.0), ("ADDL", 0), ("SS", 0)):
                if c not in got.columns:
                    got[c] = default
            got = got.loc[got["EVID"].isin([1, 3, 4])]
            ids = covariates["ID"].to_numpy() if "ID" in covariates.columns else np.arange(1, k + 1)
            pos = pd.Index(ids).get_indexer(got["ID"].to_numpy())
            if (pos < 0).any():
                raise ParameterError(f"{where}: event table ID {got['ID'].to_numpy()[pos < 0][0]!r} is not a subject "
                                     f"of the population")
            got["ID"] = local_ids[pos]
            ev = got[list(_EVENT_COLUMNS)].reset_index(drop=True)
        else:
            regs = list(got)
            if len(regs) != k:
                raise ParameterError(f"{where}: the callable returned {len(regs)} regimens for {k} subjects")
            parts = []
            for lid, reg in zip(local_ids, regs):
                if isinstance(reg, (Bolus, Infusion)):
                    reg = Regimen([reg])
                if not isinstance(reg, Regimen) or len(reg) == 0:
                    raise ParameterError(f"{where}: subject {lid}: expected a non-empty Regimen, got {reg!r}")
                e = reg.to_events(id=lid)
                parts.append(e.loc[e["EVID"].isin([1, 3, 4]), list(_EVENT_COLUMNS)])
            ev = pd.concat(parts, ignore_index=True)
        for c in ev["CMT"].unique():
            _check_cmt(model, c, where)
    ev = ev.copy()
    ev["CMT"] = _cmt_numbers(model, ev["CMT"].to_numpy())
    return ev
