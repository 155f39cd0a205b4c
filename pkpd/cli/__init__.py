"""The ``pkpd`` command line: ``pkpd demo``, ``nca``, ``fit``, ``simulate`` and ``trial``.

:func:`run` is the console entry point (``pkpd = "pkpd.cli:run"``, and ``python -m pkpd.cli``): it calls
:func:`main`, which returns the exit status and is what a script or test calls. The argument parsing is in
:mod:`pkpd.cli.main`, the commands in :mod:`pkpd.cli.commands` and scenario files (TOML) in
:mod:`pkpd.cli.scenario_file`.
"""

from .main import main, run

__all__ = ["main", "run"]
