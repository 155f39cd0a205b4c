"""Model library: compartmental PK models with closed forms and ODE forms, and the model base class.

Every library model integrates through the batched engine (``method="ode"``); the linear ones also have
an exact closed form (``method="analytic"``, the default for them).
"""

from ._base import DOSING_PARAMETER, Model, Parameter, no_compartment
from ._compose import Component, ComposedModel, ModelComponent, compose
from . import pk
from .equations import Equations
from .language import TextModel, from_text
from .pk import *  # noqa: F401,F403  (the model library; its names are listed in pk.__all__)

__all__ = ["Model", "Parameter", "Component", "ComposedModel", "ModelComponent", "compose", "DOSING_PARAMETER",
           "no_compartment", "TextModel", "from_text", "Equations", *pk.__all__]
