"""Plots: matplotlib functions that take ``ax=None`` (or ``axes=None``), draw, and return the Axes.

They never call ``plt.show()`` and import matplotlib only when called (any backend, including Agg). Axes
are labelled with units; a missing output or column raises :class:`pkpd.ParameterError` naming it.

Extra keywords (``**plot_kw``) go to each function's main artist, its docstring says
which, and override its defaults: ``label=``, ``color=``, ``lw=``, ``alpha=``, ``marker=``...
(matplotlib's aliases included). A function whose x axis is time takes ``time_unit`` (``"h"``, ``"min"``,
``"d"``, ...): the data's times (h) are converted and the axis label names the unit; plain dose times given
to it (``doses=[...]``) are in that ``time_unit``.

- :func:`profile` -- concentration-time profile(s) of a simulation result, doses marked, log scale option;
- :func:`spaghetti` -- many subjects' curves of one output, with the median and a quantile ribbon;
- :func:`individual_fits` -- observed points and the fitted curve per subject, in a grid
  (:func:`pkpd.estimation.fit_each`, :func:`pkpd.estimation.fit_individual`);
- :func:`gof` -- goodness-of-fit panels of a population fit (DV vs PRED / IPRED, CWRES vs TIME / PRED);
- :func:`vpc` -- a visual predictive check (:func:`pkpd.vpc`);
- :func:`eta_covariates`, :func:`eta_distributions` -- a population fit's empirical Bayes estimates against the
  covariates, and their histograms and normal QQ plots;
- :func:`se_panel` -- status epilepticus: surface GABA-A receptors, E_GABA, drug effect and seizure
  activity over time (:func:`pkpd.se.scenarios.se_model`);
- :func:`ddi` -- drug-drug interaction: victim concentration and enzyme amount (relative to baseline) on
  twin axes;
- :func:`ribbon` -- time courses of a virtual trial's arms, median and quantile ribbon (:func:`pkpd.run_trial`);
- :func:`endpoints` -- a trial endpoint across arms, with confidence intervals
  (:meth:`pkpd.trials.TrialResult.summarize`).
"""

from ._ddi import ddi
from ._fits import individual_fits
from ._neuro import se_panel
from ._population import eta_covariates, eta_distributions, gof, vpc
from ._profiles import profile, spaghetti
from ._trials import endpoints, ribbon

__all__ = ["profile", "spaghetti", "individual_fits", "gof", "vpc", "eta_covariates", "eta_distributions", "se_panel",
           "ddi", "ribbon", "endpoints"]
