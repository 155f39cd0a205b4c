"""Old module paths of pkpd, kept working after the package was reorganised into layers.

``import pkpd.nca``, ``from pkpd.fitting import make_params`` or ``from pkpd.simulation import simulate`` written
against earlier versions still work: each old path is an alias of the module that now holds the code (the
same module object, so monkeypatching either name reaches the real code). ``pkpd.pd`` is the one exception: it
was renamed :mod:`pkpd.effects` (now :mod:`pkpd.models.effects`) so that ``from pkpd import *`` cannot shadow pandas' ``pd``, and importing it
raises an ImportError that names the new module.

New code should import from the new homes (listed in ``MOVED``); the aliases are resolved lazily, by a finder
on ``sys.meta_path``, so an old path costs nothing until it is imported.

Examples
--------
>>> import importlib
>>> importlib.import_module("pkpd.genetics") is importlib.import_module("pkpd.physiology.genetics")
True
>>> import pkpd.pd
Traceback (most recent call last):
...
ImportError: pkpd.pd was renamed pkpd.models.effects (so that `from pkpd import *` cannot shadow pandas' `pd`); use `from pkpd import effects` or `from pkpd.models.effects import ...`
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

__all__ = ["MOVED", "install"]

#: old module path -> the module that holds its code now
MOVED = {
    "pkpd.simulation": "pkpd.engine.simulation",
    "pkpd.effects": "pkpd.models.effects",
    "pkpd.genetics": "pkpd.physiology.genetics",
    "pkpd.virtual": "pkpd.population.virtual",
    "pkpd.synthetic": "pkpd.population.synthetic",
    "pkpd.nca": "pkpd.estimation.nca",
    "pkpd.dose_optimization": "pkpd.estimation.dose_optimization",
    "pkpd.endpoints": "pkpd.trials.endpoints",
    "pkpd.fitting": "pkpd.estimation",
    "pkpd.fitting.fit": "pkpd.estimation.fit",
    "pkpd.fitting.initial": "pkpd.estimation.initial",
    "pkpd.fitting.result": "pkpd.estimation.fit_result",
    "pkpd.fitting.params": "pkpd.models.params",
    "pkpd.fitting.residual": "pkpd.population.residual",
    "pkpd.population.estimation": "pkpd.estimation.population_fit",
    "pkpd.population.result": "pkpd.estimation.population_result",
    "pkpd.population.npde": "pkpd.estimation.npde",
    "pkpd.population.vpc": "pkpd.estimation.vpc",
    "pkpd.scenario_file": "pkpd.cli.scenario_file",
    "pkpd.scenarios": "pkpd.se.scenarios",
    "pkpd.calibration": "pkpd.se.calibration",
    "pkpd.demo": "pkpd.se.demo",
}

_RENAMED = {
    "pkpd.pd": "pkpd.pd was renamed pkpd.models.effects (so that `from pkpd import *` cannot shadow pandas' `pd`); "
               "use `from pkpd import effects` or `from pkpd.models.effects import ...`",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path and loads it as the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED or fullname in _RENAMED:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec):
        if spec.name in _RENAMED:
            raise ImportError(_RENAMED[spec.name], name=spec.name)
        # importlib will set the module as an attribute of its parent: where the parent exposes a function of
        # that name (``pkpd.nca``, ``pkpd.population.npde``), the function must stay.
        parent = sys.modules.get(spec.name.rpartition(".")[0])
        if parent is not None and type(parent) is types.ModuleType:
            parent.__class__ = _KeepsFunctions
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        # The module is the one at the new path, already executed; importlib registers it under the old name.
        pass


class _KeepsFunctions(types.ModuleType):
    """A package whose public functions are not replaced by the old module of the same name when it is imported."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and f"{self.__name__}.{name}" in MOVED:
            current = getattr(self, name, None)          # may import it lazily (PEP 562 ``__getattr__``)
            if current is not None and not isinstance(current, types.ModuleType):
                return
        super().__setattr__(name, value)


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once), and alias the old paths whose modules are loaded.

    Registering a loaded module under its old name at once matters where the old name is also an attribute of
    its parent: ``import pkpd.nca`` must not replace the function ``pkpd.nca`` by the module.
    """
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        # first: before the path finder, which would load pkpd/estimation/fit.py a second time as pkpd.fitting.fit
        sys.meta_path.insert(0, _Alias())
    for old, new in MOVED.items():
        if new in sys.modules:
            sys.modules.setdefault(old, sys.modules[new])
