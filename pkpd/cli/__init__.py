"""The ``pkpd`` command line: ``pkpd demo``, ``nca``, ``fit``, ``simulate``, ``trial``, ``run`` (scenario files).

:func:`main` is the console entry point (``pkpd = "pkpd.cli.main:main"``); the commands are in
:mod:`pkpd.cli.main.commands` and scenario files (TOML) in :mod:`pkpd.cli.main.scenario_file`.
"""

from .main import main

__all__ = ["main"]
