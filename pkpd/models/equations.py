"""The equations of a model as checked expression texts: the form a compiled kernel is generated from.

A :class:`Equations` value lists, for one model, its parameters and states, the quantities computed from them
in order and one derivative per state -- each as the text of an expression that
:func:`pkpd._internal.expressions.compile_expression` has already checked (names, numbers, arithmetic, one
comparison, the functions of :data:`pkpd.models.language.FUNCTIONS`). Model-language models
(:func:`pkpd.models.from_text`) carry it as :attr:`~pkpd.models.language.TextModel.equations`;
:mod:`pkpd.engine._codegen` turns it into the source of a compiled right-hand side. Library models declare
theirs; any other model's is traced from its numpy ``rhs`` (:mod:`pkpd.engine._trace`). Initial states are
not part of it: the engine computes them with the model's ``initial_state``.

Examples
--------
>>> from pkpd.models import from_text
>>> eq = from_text('''
... [PARAM] CL = 5 L/h; V = 50 L
... [CMT] CENTRAL
... [MAIN] CP = CENTRAL / V
... [ODE] dCENTRAL = -CL * CP
... [OUTPUT] CP
... ''').equations
>>> eq.parameters, eq.states, eq.quantities, eq.derivatives
(('CL', 'V'), ('CENTRAL',), (('CP', 'CENTRAL / V'),), ('-CL * CP',))
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Equations"]


@dataclass(frozen=True)
class Equations:
    """A model's equations as checked expression texts (see the module docstring).

    Attributes
    ----------
    parameters : tuple of str
        Parameter names, in the order of the model's parameters.
    states : tuple of str
        State (compartment) names, in the order of the model's states.
    quantities : tuple of (str, str)
        ``(name, expression)`` computed in order from parameters, states, time ``t`` and earlier quantities:
        those the derivatives need.
    derivatives : tuple of str
        One expression per state: its derivative, before doses and infusions are added.
    rates : tuple of str
        Empty (the usual case): each state's zero-order input rate is added to its derivative. Otherwise the
        names under which the derivatives read the rates themselves (traced right-hand sides,
        :mod:`pkpd.engine._trace`).
    """

    parameters: tuple[str, ...]
    states: tuple[str, ...]
    quantities: tuple[tuple[str, str], ...]
    derivatives: tuple[str, ...]
    rates: tuple[str, ...] = ()
