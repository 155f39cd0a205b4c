"""Running a trial: fixed blocks of subjects, chunks of blocks, in this process (on threads) or over Dask workers."""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._internal.cpus import usable_cpus
from ..errors import ModelError, ParameterError
from ..engine.simulation import simulate
from ._design import TrialDesign, arm_events
from ._result import LEVELS, TrialResult, merge_sketches, sketch
from ._sources import PopulationSource, seed_key

__all__ = ["run_trial"]

_SOLVERS = ("dp5", "compiled", "dop853", "rodas", "lsoda", "bdf", "radau")


def _covariates(population) -> pd.DataFrame:
    if isinstance(population, (int, np.integer)) and not isinstance(population, bool):
        if population < 1:
            raise ParameterError(f"population: need at least one subject, got {population}")
        return pd.DataFrame({"ID": np.arange(1, int(population) + 1)})
    cov = getattr(population, "covariates", population)
    if not isinstance(cov, pd.DataFrame):
        raise ParameterError("population must be a number of subjects, a DataFrame with an ID column or an object "
                             f"with a covariates DataFrame, not {type(population).__name__}")
    if "ID" not in cov.columns:
        raise ParameterError("population: the covariate table needs an ID column")
    if cov.empty:
        raise ParameterError("population: the covariate table has no subjects")
    if cov["ID"].duplicated().any():
        raise ParameterError(f"population: duplicate ID {cov['ID'][cov['ID'].duplicated()].iloc[0]!r}")
    return cov.reset_index(drop=True)


def _source(model, structural):
    from ..population.model import PopulationModel

    if isinstance(model, PopulationModel):
        return PopulationSource(model), model.model
    if callable(model):
        structural = structural if structural is not None else getattr(model, "model", None)
        if structural is None or not hasattr(structural, "outputs"):
            raise ParameterError("run_trial: a parameter callable needs the structural model: give it a .model "
                                 "attribute or pass structural=")
        return model, structural
    raise ParameterError("run_trial: model must be a PopulationModel or a callable (covariates, subject_indices, "
                         f"seed) -> parameter DataFrame, not {type(model).__name__}")


@dataclass(frozen=True)
class _Job:
    """Everything a worker needs (pickled once per worker by Dask)."""

    source: object
    structural: object
    design: TrialDesign
    covariates: pd.DataFrame
    seed: object
    keep: tuple
    options: dict


def _block(job: _Job, lo: int, hi: int) -> dict:
    """Simulate subjects [lo, hi) in every arm: endpoints per subject and quantile sketches per output."""
    design, model = job.design, job.structural
    cov = job.covariates.iloc[lo:hi].reset_index(drop=True)
    idx = np.arange(lo, hi)
    k = hi - lo
    params = pd.DataFrame(job.source(cov, idx, job.seed)).reset_index(drop=True)
    if len(params) != k:
        raise ParameterError(f"the parameter source returned {len(params)} rows for {k} subjects")
    params = params.drop(columns=["ID"], errors="ignore")
    params.insert(0, "ID", np.arange(1, k + 1))
    grid = design.grid
    m = len(grid)
    tc_cols = np.searchsorted(grid, design.times)
    needed = tuple(dict.fromkeys(design.outputs + job.keep))
    states = any(o not in model.outputs for o in needed)
    obs = pd.DataFrame({"ID": np.repeat(np.arange(1, k + 1), m), "TIME": np.tile(grid, k), "EVID": 0, "AMT": 0.0,
                        "RATE": 0.0, "CMT": 1, "II": 0.0, "ADDL": 0, "SS": 0})
    out = {"endpoints": {}, "sketch": {}}
    for name in design.arm_names:
        doses = arm_events(name, design.arms[name], model, cov, np.arange(1, k + 1))
        events = pd.concat([doses, obs], ignore_index=True)
        events["_O"] = (events["EVID"] == 0).astype(int)       # doses before outputs at the same time
        events = events.sort_values(["ID", "TIME", "_O"], kind="stable").drop(columns="_O").reset_index(drop=True)
        is_obs = (events["EVID"] == 0).to_numpy()
        res = simulate(model, events, params, method="ode", states=states, chunk_size=k, **job.options)
        values = {o: np.asarray(res[o])[is_obs].reshape(k, m) for o in needed}
        out["endpoints"][name] = {ep.name: ep.evaluate(grid, values) for ep in design.endpoints}
        out["sketch"][name] = {o: sketch(values[o][:, tc_cols]) for o in job.keep}
    out["n"] = k
    return out


def _chunk(job: _Job, blocks: Sequence[tuple]) -> list:
    return [_block(job, lo, hi) for lo, hi in blocks]


class _Tree:
    """Merges block sketches in block order as a binary counter (deterministic whatever the chunking)."""

    def __init__(self):
        self.stack = []        # (level, weight, sketch)

    def push(self, w, s):
        level = 0
        while self.stack and self.stack[-1][0] == level:
            _, w0, s0 = self.stack.pop()
            s, w = merge_sketches(s0, w0, s, w), w0 + w
            level += 1
        self.stack.append((level, w, s))

    def result(self):
        if not self.stack:
            return None
        _, w, s = self.stack[-1]
        for _, w0, s0 in reversed(self.stack[:-1]):
            s, w = merge_sketches(s0, w0, s, w), w0 + w
        return s


def run_trial(model, design: TrialDesign, population, *, seed=None, client=None, chunk_size: int = 2000,
              block_size: int = 1000, progress: bool | None = None, keep_timecourses=True, structural=None,
              rtol: float = 1e-6, atol: float = 1e-9, solver: str = "dp5", threads: int | None = None) -> TrialResult:
    """Simulate every subject of ``population`` in every arm of ``design`` and evaluate its endpoints.

    Subjects are the same in every arm (common random numbers: the same parameters). The population is
    processed block by block (``block_size`` subjects integrated together) and chunk by chunk (several
    blocks per task); only the endpoints of each subject and sketches of the time-course quantiles are
    kept, so memory does not grow with the time courses of a large population.

    Parameters
    ----------
    model : PopulationModel or callable
        A :class:`~pkpd.PopulationModel` (eta drawn per subject from its Omega; covariate effects read the
        population's covariates), or a parameter source ``(covariates, subject_indices, seed) ->
        DataFrame`` with a ``model`` attribute (e.g. :func:`pkpd.trials.se_population`,
        :func:`pkpd.trials.from_table`) or with ``structural=`` given. ``subject_indices`` are 0-based
        positions in the population: draws must depend on them, not on the chunk.
    design : TrialDesign
    population : int, DataFrame or object with ``covariates``
        A number of subjects (IDs 1..n, no covariates), a covariate table with an ``ID`` column, or a
        virtual population (``.covariates``).
    seed : int, optional
        Seed of every random draw; ``None`` draws one (stored in the result).
    client : dask.distributed.Client, optional
        Map the chunks over its workers (results are identical to the run in this process).
    chunk_size : int
        Subjects per task (rounded up to a multiple of ``block_size``).
    block_size : int
        Subjects integrated together. Results depend on the seed and on ``block_size`` (the composition
        of a batch changes floating-point rounding), never on ``chunk_size`` or on the client.
    progress : bool, optional
        tqdm progress bar; ``None`` shows it on a terminal or notebook only (``tqdm(disable=None)``).
    keep_timecourses : bool or sequence of str
        Outputs whose quantiles at ``design.times`` are kept: True the endpoints' outputs, False none.
    structural : Model, optional
        The structural model of a parameter callable without a ``model`` attribute.
    rtol, atol, solver
        ODE options (:func:`pkpd.simulate`). ``"dp5"``, ``"compiled"``, ``"dop853"``, ``"rodas"`` and ``"lsoda"``
        control each subject's error; stacked ``"bdf"``/``"radau"`` average it over the block. ``"compiled"`` (the same
        steps as ``"dp5"``, compiled by numba; several times faster once compiled) gives results that do not depend on
        ``block_size`` either.
    threads : int, optional
        Without ``client``: chunks simulated at once in this process, on threads. The compiled integrators
        (``"compiled"``, ``"dop853"``, ``"rodas"``) release the GIL, so one chunk's Python work (events, outputs,
        endpoints) runs while another's subjects are integrated: the default is 2 for them when the process may use
        two CPUs or more, else 1. Results are identical for any value. ``"lsoda"`` (not re-entrant) takes 1 only.

    Returns
    -------
    TrialResult

    Raises
    ------
    ParameterError, ModelError
        Invalid design for this model (unknown compartment or output, per-kg dose without ``WT`` ...),
        before anything is simulated.

    Examples
    --------
    >>> import numpy as np, pkpd, pkpd.trials
    >>> from pkpd import endpoints, scenarios
    >>> design = pkpd.trials.TrialDesign({"5 min": scenarios.treat(5), "30 min": scenarios.treat(30)},
    ...                                  times=np.linspace(0, 4, 9), endpoints=[endpoints.terminated_by(4.0)])
    >>> res = pkpd.trials.run_trial(pkpd.trials.se_population(), design, 20, seed=1, progress=False)
    >>> res.subjects.shape
    (40, 3)
    >>> s = res.summarize()
    >>> bool(s.loc[s.arm == "5 min", "estimate"].iloc[0] >= s.loc[s.arm == "30 min", "estimate"].iloc[0])
    True
    """
    from tqdm.auto import tqdm

    if not isinstance(design, TrialDesign):
        raise ParameterError(f"run_trial: design must be a TrialDesign, not {type(design).__name__}")
    if solver not in _SOLVERS:
        raise ParameterError(f"run_trial: solver must be one of {_SOLVERS}, got {solver!r}")
    if threads is None:
        threads = min(2, usable_cpus()) if solver in ("compiled", "dop853", "rodas") else 1
    for what, v in (("chunk_size", chunk_size), ("block_size", block_size), ("threads", threads)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError(f"run_trial: {what} must be a positive integer, got {v!r}")
    if solver == "lsoda" and threads > 1:
        raise ParameterError("run_trial: solver='lsoda' runs one chunk at a time (scipy's LSODA is Fortran code "
                             f"that is not re-entrant), got threads={threads}")
    source, model_ = _source(model, structural)
    cov = _covariates(population)
    if keep_timecourses is True:
        keep = design.outputs if len(design.times) else ()
    elif not keep_timecourses:
        keep = ()
    else:
        keep = (keep_timecourses,) if isinstance(keep_timecourses, str) else tuple(keep_timecourses)
        if keep and not len(design.times):
            raise ParameterError("run_trial: keep_timecourses needs design times")
    design.check(model_, cov)                                       # before any simulation
    available = set(model_.outputs) | set(model_.states)
    unknown = [o for o in keep if o not in available]
    if unknown:
        raise ModelError(f"keep_timecourses: {model_.name} has no output {unknown}")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2 ** 63))
    seed_key(seed)
    n = len(cov)
    job = _Job(source, model_, design, cov, seed, keep, {"rtol": rtol, "atol": atol, "solver": solver})
    blocks = [(lo, min(n, lo + block_size)) for lo in range(0, n, block_size)]
    per_chunk = max(1, -(-int(chunk_size) // block_size))
    chunks = [blocks[i:i + per_chunk] for i in range(0, len(blocks), per_chunk)]

    ep_parts = {a: {ep.name: [None] * len(blocks) for ep in design.endpoints} for a in design.arm_names}
    trees = {(a, o): _Tree() for a in design.arm_names for o in keep}
    pending, next_block = {}, 0
    start = _time.perf_counter()
    bar = tqdm(total=n, unit="subject", disable=(None if progress is None else not progress), desc="trial")

    def absorb(first_block, results):
        nonlocal next_block
        for j, r in enumerate(results):
            b = first_block + j
            for a in design.arm_names:
                for ep_name, v in r["endpoints"][a].items():
                    ep_parts[a][ep_name][b] = v
            pending[b] = r
        while next_block in pending:                     # merge sketches in block order
            r = pending.pop(next_block)
            for (a, o), tree in trees.items():
                tree.push(r["n"], r["sketch"][a][o])
            next_block += 1
        bar.update(sum(r["n"] for r in results))

    first = np.cumsum([0] + [len(c) for c in chunks])
    try:
        if client is None and threads == 1:
            for c, blks in enumerate(chunks):
                absorb(first[c], _chunk(job, blks))
        elif client is None:
            with ThreadPoolExecutor(threads, thread_name_prefix="pkpd-trial") as pool:
                for c, results in enumerate(pool.map(lambda blks: _chunk(job, blks), chunks)):
                    absorb(first[c], results)
        else:
            from dask.distributed import as_completed

            job_f = client.scatter(job, broadcast=True)
            futures = [client.submit(_chunk, job_f, blks, pure=False) for blks in chunks]
            where = {f.key: c for c, f in enumerate(futures)}
            for fut in as_completed(futures):
                absorb(first[where[fut.key]], fut.result())
                fut.release()
    finally:
        bar.close()
    elapsed = _time.perf_counter() - start

    ids = cov["ID"].to_numpy()
    frames = []
    for a in design.arm_names:
        cols = {"ID": ids, "arm": np.full(n, a, dtype=object)}
        for ep in design.endpoints:
            cols[ep.name] = np.concatenate(ep_parts[a][ep.name])
        frames.append(pd.DataFrame(cols))
    subjects = pd.concat(frames, ignore_index=True)
    subjects["arm"] = pd.Categorical(subjects["arm"], categories=list(design.arm_names))
    sketches = {key: tree.result() for key, tree in trees.items()}
    return TrialResult.build(subjects=subjects, design=design, seed=seed, sketches=sketches, levels=LEVELS,
                             elapsed=elapsed, block_size=block_size, model_name=model_.name)
