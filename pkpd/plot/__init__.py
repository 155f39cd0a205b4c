"""Plots: matplotlib functions that take ``ax=None`` (or ``axes=None``), draw, and return the Axes.

They never call ``plt.show()`` and import matplotlib only when called (any backend, including Agg).

- :func:`gof` -- goodness-of-fit panels of a population fit (DV vs PRED / IPRED, CWRES vs TIME / PRED);
- :func:`vpc` -- a visual predictive check (:func:`pkpd.vpc`);
- :func:`ribbon` -- time courses of a virtual trial's arms, median and quantile ribbon (:func:`pkpd.run_trial`).
"""

from ._population import gof, vpc
from ._trials import ribbon

__all__ = ["gof", "vpc", "ribbon"]
