"""Modules imported on first use: ``import pkpd`` should not pay for what a session may never call.

``scipy.special`` alone takes about 0.2 s to import (it pulls in numpy.f2py and numpy.testing through scipy's
array-API layer), more than all of pkpd's own modules. A :class:`LazyModule` imports its module when one of its
attributes is first read and keeps each attribute it has looked up, so later calls cost a plain attribute read.

Examples
--------
>>> special = LazyModule("scipy.special")
>>> float(special.expit(0.0))
0.5
"""

from __future__ import annotations

import importlib

__all__ = ["LazyModule", "special", "linalg"]


class LazyModule:
    """Stands for the module ``name`` until an attribute is read; then imports it."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        value = getattr(importlib.import_module(self._name), attr)
        setattr(self, attr, value)          # next time: an ordinary attribute
        return value

    def __repr__(self) -> str:
        return f"LazyModule({self._name!r})"


special = LazyModule("scipy.special")
linalg = LazyModule("scipy.linalg")
