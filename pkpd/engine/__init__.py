"""The engine: events in, predictions out.

- :func:`simulate` (a dataset at its own records) and :func:`simulate_regimen` (a regimen at chosen times,
  behind :meth:`pkpd.models.Model.simulate`) -- :mod:`pkpd.engine.simulation`;
- the dosing schedule compiled from NONMEM-style events into flat arrays (``_schedule``), solved by the closed
  form of linear models (``_closed_form``) or by the batched ODE engine (``_ode``: breakpoints and steady states,
  ``_explicit``: Dormand-Prince 5(4) per unit, ``_implicit``: stiff solvers);
- :class:`BatchPredictor` -- predictions for many parameter sets on one dataset, its schedule compiled once
  (the hot path of estimation);
- the compiled engine (``_codegen``, ``_trace``, ``_kernel``, ``_compiled``): ``solver="compiled"``, ``"dop853"``
  and ``"rodas"``; :func:`explicit_solver` names the fastest explicit solver available.
"""

from ._batch import BatchPredictor
from .simulation import output_units, simulate, simulate_regimen

__all__ = ["simulate", "simulate_regimen", "BatchPredictor", "output_units", "explicit_solver"]


def explicit_solver() -> str:
    """The fastest explicit solver here: ``"compiled"`` where numba is installed, else ``"dp5"`` (the same
    Dormand-Prince steps in numpy). numba is not imported to answer.

    >>> explicit_solver() in ("compiled", "dp5")
    True
    """
    from ._compiled import available

    return "compiled" if available() else "dp5"
