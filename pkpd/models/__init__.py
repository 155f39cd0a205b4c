"""Model library: compartmental PK models with closed forms and ODE forms, and the model base class.

Every library model integrates through the batched engine (``method="ode"``); the linear ones also have
an exact closed form (``method="analytic"``, the default for them).
"""

from ._base import DOSING_PARAMETER, Model, Parameter, no_compartment
from ._compose import Component, ComposedModel, ModelComponent, compose
from . import pk
from .equations import Equations
from .pk import *  # noqa: F401,F403  (the model library; its names are listed in pk.__all__)

__all__ = ["Model", "Parameter", "Component", "ComposedModel", "ModelComponent", "compose", "DOSING_PARAMETER",
           "no_compartment", "TextModel", "from_text", "Equations", *pk.__all__]


def __getattr__(name):
    # the model language's parser (10 ms) is imported when a model is first written in it
    if name in ("TextModel", "from_text"):
        from . import language

        return getattr(language, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
