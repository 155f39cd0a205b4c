"""Moved to :mod:`pkpd.se.demo` (the status-epilepticus application); this name keeps existing imports working.

``import pkpd.demo`` and ``from pkpd import demo`` give the module :mod:`pkpd.se.demo` itself.
"""

import sys

from .se import demo as _moved

sys.modules[__name__] = _moved
