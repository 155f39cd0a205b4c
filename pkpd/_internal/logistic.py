"""The logistic function for model code that runs on numpy arrays and on traced ones.

``scipy.special.expit`` computes ``1 / (1 + exp(-x))``; numpy computes the same formula to the bit, without
importing ``scipy.special``, which a process running compiled models (the status-epilepticus model's seizure
term, :class:`pkpd.physiology.Seizure`) does not need otherwise: 0.2 s alone, 0.07 s after the ``scipy.linalg``
that numba loads.

Examples
--------
>>> float(expit(0.0)), float(expit(-800.0)), float(expit(800.0))
(0.5, 0.0, 1.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["expit"]


def expit(x):
    """``1 / (1 + exp(-x))``, elementwise; an argument whose type defines ``expit`` (a traced array of
    :mod:`pkpd.engine._trace`, which records it as one operation) computes it itself."""
    own = getattr(type(x), "expit", None)
    if own is not None:
        return own(x)
    with np.errstate(over="ignore"):            # exp(800) is inf and the logistic 0, as it should be
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))
