"""The engine: events in, predictions out.

- :func:`simulate` (a dataset at its own records) and :func:`simulate_regimen` (a regimen at chosen times,
  behind :meth:`pkpd.models.Model.simulate`) -- :mod:`pkpd.engine.simulation`;
- the dosing schedule compiled from NONMEM-style events into flat arrays (``_schedule``), solved by the closed
  form of linear models (``_closed_form``) or by the batched ODE engine (``_ode``: breakpoints and steady states,
  ``_explicit``: Dormand-Prince 5(4) per unit, ``_implicit``: stiff solvers);
- :class:`BatchPredictor` -- predictions for many parameter sets on one dataset, its schedule compiled once
  (the hot path of estimation).
"""

from ._batch import BatchPredictor
from .simulation import output_units, simulate, simulate_regimen

__all__ = ["simulate", "simulate_regimen", "BatchPredictor", "output_units"]
