"""Reading and writing NONMEM-style datasets: :func:`read_nonmem`, :func:`write_nonmem`, :class:`Dataset`; other
layouts (long, wide, Monolix) through :func:`from_long`, :func:`from_wide`, :func:`from_monolix`.

NONMEM format knowledge lives in this package alone. Every reader yields a :class:`Dataset` holding
the canonical event table ``ID TIME EVID AMT RATE CMT II ADDL SS MDV DV`` (+ covariates) in internal
units (h, mg, mg/L, mg/h) -- the contract with the simulation engine.

Examples
--------
>>> from pkpd.io import load_dataset
>>> load_dataset("indometacin").observations.head(3)
   ID  TIME    DV  CMT
0   1  0.25  1.50    1
1   1  0.50  0.94    1
2   1  0.75  0.78    1
"""

from .._internal.columns import CANONICAL_COLUMNS
from ._dataset import Dataset
from ._long import from_long
from ._monolix import from_monolix
from ._nonmem import as_dataset, read_dataset, read_nonmem
from ._public import DATASETS, load_dataset, load_truth
from ._wide import from_wide
from ._write import write_nonmem

__all__ = ["Dataset", "as_dataset", "read_nonmem", "read_dataset", "write_nonmem", "load_dataset", "load_truth", "DATASETS",
           "CANONICAL_COLUMNS", "from_long", "from_wide", "from_monolix"]
