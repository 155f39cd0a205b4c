"""Plots: matplotlib functions that take ``ax=None`` (or ``axes=None``), draw, and return the Axes.

They never call ``plt.show()`` and import matplotlib only when called (any backend, including Agg).

- :func:`gof` -- goodness-of-fit panels of a population fit (DV vs PRED / IPRED, CWRES vs TIME / PRED);
- :func:`vpc` -- a visual predictive check (:func:`pkpd.vpc`).
"""

from ._population import gof, vpc

__all__ = ["gof", "vpc"]
