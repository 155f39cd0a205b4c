"""Virtual trials at scale: the same virtual subjects in every arm, streamed chunk by chunk, locally or on Dask.

- :class:`TrialDesign` -- arms (a :class:`~pkpd.Regimen`, a list of :class:`Dose` that may scale with
  weight, or a callable of the covariates), output times and endpoints (:mod:`pkpd.trials.endpoints`), validated
  before anything is simulated;
- :func:`run_trial` -- simulate a population (a :class:`~pkpd.PopulationModel`, or a parameter source such
  as :func:`pkpd.se.population.se_population` or :func:`from_table`) in every arm and evaluate the endpoints of each subject;
- :class:`TrialResult` -- ``subjects`` (one row per subject and arm), :meth:`~TrialResult.summarize`
  (fractions with Wilson intervals, medians with distribution-free intervals), ``timecourses`` (quantiles
  per arm and time), :meth:`~TrialResult.report`, :func:`pkpd.plot.ribbon`.

Reproducibility: a subject's random draws depend only on the seed and its index in the population
(fixed blocks of :data:`DRAW_BLOCK` draws), and subjects are integrated in fixed blocks of ``block_size``,
so the same seed gives bit-identical results whatever the chunk size and whether or not the chunks run on
Dask workers. (The composition of an integrated batch changes floating-point rounding at the 1e-16 level,
measured; fixed blocks remove that dependence.)

Examples
--------
ESETT-like second line: midazolam 10 mg IM at 15 min, then levetiracetam 60 mg/kg (max 4500 mg) over
10 min at 40 min, or not:

>>> import numpy as np, pandas as pd
>>> from pkpd import endpoints
>>> from pkpd.se.population import se_population
>>> from pkpd.trials import Dose, TrialDesign, run_trial
>>> mdz = [Dose("MDZ.DEPOT", 10, time=15 / 60)]
>>> lev = Dose("LEV.CENTRAL", 60, per_kg=True, max_amount=4500, time=40 / 60, duration=10 / 60)
>>> design = TrialDesign({"MDZ": mdz, "MDZ + LEV": mdz + [lev]}, times=np.linspace(0, 4, 17),
...                      endpoints=[endpoints.terminated_by(4.0), endpoints.time_to_termination()])
>>> patients = pd.DataFrame({"ID": range(1, 31), "WT": np.linspace(50, 110, 30)})
>>> res = run_trial(se_population(("midazolam", "levetiracetam")), design, patients, seed=7, progress=False)
>>> frac = res.summarize().query("endpoint == 'terminated_by_4h'").set_index("arm")["estimate"]
>>> bool(frac["MDZ + LEV"] >= frac["MDZ"])
True
"""

import importlib

from . import endpoints
from ._design import Dose, TrialDesign
from ._result import TrialResult, wilson
from ._run import run_trial
from ._sources import DRAW_BLOCK, block_normals, from_table, seed_key

__all__ = ["endpoints", "Dose", "TrialDesign", "TrialResult", "run_trial", "se_population", "from_table", "DRAW_BLOCK",
           "block_normals", "seed_key", "wilson"]


def __getattr__(name):
    # ``se_population`` moved to the SE application (pkpd.se.population); this keeps ``pkpd.trials.se_population``
    # working; it is looked up by name, not imported, because the application sits above the toolkit's layers.
    if name == "se_population":
        return importlib.import_module("pkpd.se.population").se_population
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
