"""The model library by name: what the command line, scenario files and saved fits may name.

A name is an allow-list entry, never code: :func:`resolve_model` builds a library class, nothing else.

Examples
--------
>>> resolve_model("one_compartment_oral").name, resolve_model("TwoCompartment").name
('OneCompartmentOral', 'TwoCompartment')
>>> snake_name("OneCompartmentOral")
'one_compartment_oral'
"""

from __future__ import annotations

import re

from ..errors import ModelError
from . import pk

__all__ = ["LIBRARY", "MODEL_NAMES", "resolve_model", "snake_name"]

#: The library models by class name (the classes of :mod:`pkpd.models.pk`).
LIBRARY = {name: getattr(pk, name) for name in pk.__all__}
#: Model names accepted by ``--model`` and scenario files (snake_case aliases such as ``one_compartment_oral`` too).
MODEL_NAMES = tuple(LIBRARY)


def snake_name(name: str) -> str:
    """``OneCompartmentOral`` -> ``one_compartment_oral``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def resolve_model(name: str):
    """A model of the library by class name (``OneCompartmentOral``) or snake-case alias
    (``one_compartment_oral``); case, ``-`` and ``_`` do not matter."""
    key = name.replace("_", "").replace("-", "").lower()
    for cls_name, cls in LIBRARY.items():
        if cls_name.lower() == key:
            return cls()
    aliases = ", ".join(snake_name(n) for n in MODEL_NAMES)
    raise ModelError(f"unknown model {name!r}; known models: {aliases}")
