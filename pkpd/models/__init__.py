"""Model library: compartmental PK models with closed forms and ODE forms, and the model base class.

Every library model integrates through the batched engine (``method="ode"``); the linear ones also have
an exact closed form (``method="analytic"``, the default for them).
"""

from ._base import Model, Parameter
from .pk import (
    OneCompartment,
    OneCompartmentMM,
    OneCompartmentOral,
    OneCompartmentOralMM,
    ParentMetabolite,
    Prodrug,
    ThreeCompartment,
    ThreeCompartmentOral,
    TwoCompartment,
    TwoCompartmentOral,
)

__all__ = [
    "Model",
    "Parameter",
    "OneCompartment",
    "OneCompartmentOral",
    "TwoCompartment",
    "TwoCompartmentOral",
    "ThreeCompartment",
    "ThreeCompartmentOral",
    "OneCompartmentMM",
    "OneCompartmentOralMM",
    "Prodrug",
    "ParentMetabolite",
]
