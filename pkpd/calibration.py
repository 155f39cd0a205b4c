"""Moved to :mod:`pkpd.se.calibration` (the status-epilepticus application); this name keeps existing imports working.

``import pkpd.calibration`` and ``from pkpd import calibration`` give the module :mod:`pkpd.se.calibration` itself.
"""

import sys

from .se import calibration as _moved

sys.modules[__name__] = _moved
