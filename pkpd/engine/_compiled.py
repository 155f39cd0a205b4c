"""The compiled engine: a model's equations compiled by numba and run by one compiled integrator.

``solver="compiled"`` integrates like ``solver="dp5"`` -- the same Dormand-Prince steps through the same
breakpoints -- but each unit runs a compiled loop (:mod:`pkpd.engine._kernel`) instead of the batch
stepping together in numpy, and ranges of units run on threads; ``solver="rodas"`` takes Rodas5P steps with the
model's symbolic Jacobian (stiff models). A model's equations are declared (library and model-language models)
or traced from its ``rhs`` (:mod:`pkpd.engine._trace`) and checked against it. ``solver="auto"`` keeps the
numpy engine; :func:`pkpd.engine.explicit_solver` names ``"compiled"`` where numba is installed.

The integrator is compiled once for all models (numba caches it beside :mod:`pkpd.engine._kernel`); a model adds
only its own functions. A model's module (its ``rhs``, and ``jac`` for Rodas5P, :mod:`pkpd.engine._codegen`) is
written to ``<cache>/pkpd_kernel_<hash of the source>.py``, where ``<cache>`` is ``$PKPD_CACHE_DIR``, else
``$XDG_CACHE_HOME/pkpd/kernels``, else ``~/.cache/pkpd/kernels``; numba caches its machine code beside it
(``cache=True``). The first use of a model compiles it (under a second; the integrator's first use in a new
installation takes about 7 s per method); later processes load the machine code. :func:`kernel_for` keeps the
loaded module per source in the process (and per model, so that a fit's many calls skip writing and hashing the
source). The cache holds only source that pkpd wrote from checked expressions (it is rewritten whenever it
differs), so its folder needs the same protection as any other cache of executable code in the user's home.

numba is imported here, on first use, never by ``import pkpd``. Without numba, :func:`available` is False and
``solver="compiled"`` says so.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .._internal.cpus import usable_cpus
from ..errors import SimulationError
from ._codegen import kernel_source
from ._explicit import Course, Kind, Outputs, Start, StepOptions
from ._trace import NotTraceable, evaluate, trace

__all__ = ["available", "declared", "equations_of", "jacobian_of", "kernel_for", "integrate_compiled", "run_ranges",
           "cache_dir"]

_LOADED: dict[str, object] = {}
_EQUATIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()     # model -> [equations, trace]
_KERNELS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()       # model -> {stiff: kernel module}
_LOCK = threading.Lock()


@functools.cache
def available() -> bool:
    """True when numba can be imported (the compiled engine can run); looked up once per process."""
    return importlib.util.find_spec("numba") is not None


def declared(model) -> bool:
    """True when ``model`` declares :class:`~pkpd.models.Equations` that describe its :meth:`rhs`: defined by the
    class that defines ``rhs`` or a subclass of it (a subclass overriding ``rhs`` alone has to be traced)."""
    if getattr(model, "equations", None) is None:
        return False
    mro = type(model).__mro__
    rhs_owner = next(c for c in mro if "rhs" in vars(c))
    eq_owner = type(model) if "equations" in vars(model) else next(c for c in mro if "equations" in vars(c))
    return issubclass(eq_owner, rhs_owner)


def equations_of(model):
    """The model's :class:`~pkpd.models.Equations`: declared, or traced from its ``rhs`` and checked against it.

    Raises
    ------
    SimulationError
        When the right-hand side cannot be traced (naming why) or the trace disagrees with it.
    """
    return _entry(model)[0]


def jacobian_of(model):
    """The Jacobian of the model's right-hand side as :class:`~pkpd.models.Equations` (see
    :class:`pkpd.engine._trace.Trace`), differentiated on first use."""
    entry = _entry(model)
    if entry[1] is None:            # a declared model is traced only when its Jacobian is wanted
        entry[1] = _trace(model, entry[0])
    return entry[1].jacobian


def _entry(model):
    """``[equations, trace or None]`` of ``model``, kept while the model lives (it is immutable)."""
    entry = _EQUATIONS.get(model)
    if entry is None:
        if declared(model):
            entry = [model.equations, None]
        else:
            traced = _trace(model, None)
            _check_trace(model, traced.rhs)
            entry = [traced.rhs, traced]
        _EQUATIONS[model] = entry
    return entry


def _trace(model, equations):
    try:
        return trace(model, equations)
    except NotTraceable as err:
        raise SimulationError(f"{model.name} cannot be compiled: its right-hand side uses {err}; "
                              "use solver='dp5'") from None


def _check_trace(model, eq, n=5):
    """The traced equations, evaluated by numpy, must give the model's own ``rhs`` at random states. Parameters
    whose default is 0 (an inhibitor absent, a shift off) are drawn away from 0, so that the terms they multiply
    are compared too."""
    rng = np.random.default_rng(0)
    S = len(model.states)
    p = {k: (v * np.exp(0.2 * rng.standard_normal(n)) if v != 0 else rng.uniform(0.05, 0.5, n))
         for k, v in model.defaults.items()}
    y = model.initial_state(p) + rng.uniform(0.0, 1.0, (n, S))
    rate, t = rng.uniform(0.0, 1.0, (n, S)), rng.uniform(0.0, 10.0, n)
    with np.errstate(all="ignore"):
        expected = model.rhs(t, y, p, rate)
        got = evaluate(eq, t, y, [p[k] for k in model.parameter_names], rate)
    ok = np.isclose(got, expected, rtol=1e-9, atol=1e-12) | (np.isnan(got) & np.isnan(expected))
    if not ok.all():
        i = int(np.argwhere(~ok)[0][1])
        raise SimulationError(f"{model.name} cannot be compiled: its traced right-hand side differs from it for "
                              f"{model.states[i]}; use solver='dp5'")


def cache_dir() -> Path:
    """Where kernel modules and their machine code are kept (see the module docstring)."""
    if os.environ.get("PKPD_CACHE_DIR"):
        return Path(os.environ["PKPD_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pkpd" / "kernels"


def kernel_for(model, stiff: bool = False):
    """The loaded module of ``model``'s compiled functions (written to the cache and imported on first use):
    ``rhs``, and ``jac`` when ``stiff`` (Rodas5P steps need its Jacobian, Dormand-Prince steps do not)."""
    if not available():
        raise SimulationError("solver='compiled' needs numba (pip install numba); solver='dp5' runs without it")
    per_model = _KERNELS.setdefault(model, {})
    if stiff not in per_model:          # once per model: writing and hashing the source costs ms, fits call often
        per_model[stiff] = _kernel_module(model, stiff)
    return per_model[stiff]


_HEADER = '''"""One model's compiled functions, written by pkpd.engine._compiled from its checked equations."""

import math

from numba import njit

from pkpd.engine._kernel import DERIVE, FACTOR, JAC, RHS, SOLVE


'''


def _kernel_module(model, stiff: bool):
    source = _HEADER + kernel_source(equations_of(model), jacobian_of(model) if stiff else None)
    key = hashlib.sha256(source.encode()).hexdigest()[:20]
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _load(key, source)
    return _LOADED[key]


def _load(key: str, source: str):
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pkpd_kernel_{key}.py"
    if not path.exists() or path.read_text() != source:
        # written whole and renamed: another process reading the cache never sees half a file
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(source)
        os.replace(tmp, path)
    name = f"pkpd_kernel_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module      # numba's cache locates a module's functions through sys.modules
    spec.loader.exec_module(module)
    return module


def integrate_compiled(model, params: dict, start: Start, course: Course, outputs: Outputs = Outputs(),
                       options: StepOptions = StepOptions()):
    """:func:`pkpd.engine._explicit.integrate` by the model's compiled kernel: same arguments, same results
    (to rounding); ``params`` is not modified. ``options.method`` ``"rodas"`` takes Rodas5P steps (stiff models),
    ``"dop853"`` DOP853 steps (eighth order, landing on the outputs), any other Dormand-Prince steps."""
    stiff = options.method == "rodas"
    functions = kernel_for(model, stiff)
    from . import _kernel         # numba: imported on first use, compiled once (cached) for every model
    rhs, jac = functions.rhs, (functions.jac if stiff else None)
    factor, solve = (functions.factor, functions.solve) if stiff else (None, None)
    integrate = _kernel.integrator(stiff)
    names = model.parameter_names
    n, S = start.state.shape
    bps = course.breakpoints
    p = np.zeros((n, len(names) + functions.N_DERIVED))    # the derived values are filled per unit by the kernel
    for j, name in enumerate(names):
        p[:, j] = params[name]
    x0 = model.initial_state({name: p[:, j] for j, name in enumerate(names)}) if n else np.zeros((0, S))
    table, mask, table_x0 = _parameter_table(model, names, bps, p[:, :len(names)])
    if outputs.dense_time is not None and len(outputs.dense_time):
        d_unit, d_time = np.asarray(outputs.dense_unit, np.int64), np.asarray(outputs.dense_time, float)
    else:
        d_unit, d_time = np.zeros(0, np.int64), np.zeros(0)
    d_start = np.searchsorted(d_unit, np.arange(n), side="left")
    d_stop = np.searchsorted(d_unit, np.arange(n), side="right")
    f64, i64 = np.float64, np.int64
    args = (np.ascontiguousarray(start.time, f64), np.ascontiguousarray(start.state, f64),
            np.ascontiguousarray(start.rate, f64), p, np.ascontiguousarray(x0, f64), bps.start.astype(i64),
            bps.stop.astype(i64), np.ascontiguousarray(bps.time, f64), bps.kind.astype(i64), bps.cmt.astype(i64),
            np.ascontiguousarray(bps.value, f64), bps.ref.astype(i64),
            np.ascontiguousarray(course.vectors, f64).reshape(-1, S), table, mask, table_x0,
            np.ascontiguousarray(course.end, f64), d_start.astype(i64), d_stop.astype(i64), d_time,
            float(options.rtol), float(options.atol), int(options.max_steps), options.method == "dop853")
    y_end, status, reached = np.empty((n, S)), np.zeros(n, i64), np.zeros(n)
    snapshots = np.full((int(outputs.n_snapshots), S), np.nan)
    dense = np.full((len(d_time), S), np.nan)
    out = (y_end, snapshots, dense, status, reached)
    run_ranges(lambda first, last: integrate(rhs, jac, factor, solve, functions.derive, first, last, *args, *out), n)
    _check(status, reached, options.max_steps)
    return y_end, snapshots, dense


def _parameter_table(model, names, bps, p):
    """PARAMS rows as arrays: values ``(rows, P)``, which parameters they set, and the initial state under each
    row (a reset after a parameter change returns to it). One unused row when there are none."""
    S = len(model.states)
    rows = len(next(iter(bps.table.values()))) if bps.table else 0
    if not rows:
        return np.zeros((1, len(names))), np.zeros(len(names), np.bool_), np.zeros((1, S))
    mask = np.array([name in bps.table for name in names])
    unit = np.zeros(rows, np.int64)          # the unit each row belongs to (its other parameters)
    sel = bps.kind == Kind.PARAMS
    unit[bps.ref[sel]] = bps.unit[sel]
    values = {name: (np.asarray(bps.table[name], float) if mask[j] else p[unit, j]) for j, name in enumerate(names)}
    table = np.column_stack([values[name] for name in names])
    return np.ascontiguousarray(table), mask, np.ascontiguousarray(model.initial_state(values), float)


def run_ranges(work, n: int, per_thread: int = 64) -> None:
    """``work(first, last)`` over ``0..n`` in ranges, on threads when there is enough (``work`` releases the GIL
    and writes only its own rows): four ranges a thread, so that one that finishes early takes the next (units
    differ in cost)."""
    threads = _threads(n, per_thread)
    if threads == 1:
        work(0, n)
    else:
        list(_pool(threads).map(lambda r: work(*r), _ranges(n, 4 * threads)))


def _threads(n_units: int, per_thread: int = 64) -> int:
    """Threads for ``n_units`` units: ``$PKPD_THREADS``, else the CPUs this process may use; at least
    ``per_thread`` units each."""
    wanted = int(os.environ["PKPD_THREADS"]) if os.environ.get("PKPD_THREADS") else usable_cpus()
    return max(1, min(wanted, n_units // per_thread))


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    """A pool of ``threads`` threads kept for the process (starting threads at every call costs more than small
    simulations)."""
    return ThreadPoolExecutor(threads, thread_name_prefix="pkpd-kernel")


def _ranges(n: int, k: int) -> list[tuple[int, int]]:
    """``k`` consecutive ranges of units covering ``0..n`` (units were ordered by subject, so neighbours cost alike)."""
    edges = np.linspace(0, n, k + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _check(status, reached, max_steps):
    bad = np.nonzero(status)[0]
    if not bad.size:
        return
    u, t = int(bad[0]), float(reached[bad[0]])
    raise SimulationError(_STATUS_MESSAGES[int(status[u])].format(u=u, t=t, max_steps=max_steps))


#: what a unit's nonzero status means (the codes of pkpd.engine._kernel)
_STATUS_MESSAGES = {
    1: "integration unit {u}: more than {max_steps} steps before time {t:.6g}: loosen rtol/atol or use solver='bdf'",
    2: "step size underflow at time {t:.6g} (integration unit {u}); the model may be stiff or its state "
       "non-finite: try solver='bdf'",
    3: "dense output: outputs outside the integrated range (integration unit {u})",
}
