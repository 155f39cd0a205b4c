"""Moved to :mod:`pkpd.se.scenarios` (the status-epilepticus application); this name keeps existing imports working.

``import pkpd.scenarios`` and ``from pkpd import scenarios`` give the module :mod:`pkpd.se.scenarios` itself.
"""

import sys

from .se import scenarios as _moved

sys.modules[__name__] = _moved
