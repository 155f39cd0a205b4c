"""Public reference datasets shipped with pkpd (see ``datasets/README.md`` for provenance)."""

from __future__ import annotations

from importlib import resources

from ..errors import DatasetError
from ._dataset import Dataset
from ._nonmem import read_nonmem

__all__ = ["load_dataset", "load_truth", "DATASETS"]

#: Names accepted by :func:`load_dataset`, with a one-line description.
DATASETS = {
    "theophylline": "Theophylline, 12 adults, single oral dose (mg), 11 samples each; "
    "Boeckmann, Sheiner & Beal 1994 (R datasets::Theoph). Covariates WT (kg), DOSE_MGKG (mg/kg).",
    "indometacin": "Indometacin, 6 volunteers, 25 mg IV bolus, 11 samples each; "
    "Kwan et al. 1976 (R datasets::Indometh).",
    "synthetic_oral_1cmt": "Synthetic: 24 subjects, one-compartment oral (CL 2.8 L/h, V 32 L, KA 1.5 /h), "
    "320 mg single dose, rich sampling, covariate WT; seed 101 (truth: load_truth).",
    "synthetic_clobazam_cyp2c19": "Synthetic: 40 subjects, clobazam 10 mg q12h at steady state, sparse samples of "
    "clobazam (DVID 1) and N-desmethylclobazam (DVID 2), CYP2C19 genotype covariates; seed 205.",
    "synthetic_oral_2cmt_blq": "Synthetic: 30 subjects, two-compartment oral, 100 mg, LLOQ 0.44 mg/L "
    "(BLQ/LLOQ columns, M3 convention); seed 303.",
}


def load_dataset(name: str) -> Dataset:
    """Load one of the public reference datasets shipped with pkpd.

    Parameters
    ----------
    name : str
        ``"theophylline"``: 12 subjects, oral dose into CMT 1 (DEPOT) at time 0, concentrations
        (mg/L) observed in CMT 2 (CENTRAL), covariates ``WT`` (kg) and ``DOSE_MGKG`` (mg/kg).
        ``"indometacin"``: 6 subjects, 25 mg IV bolus into CMT 1 (CENTRAL) at time 0, concentrations
        (mg/L) observed in CMT 1. The ``synthetic_*`` datasets (:data:`DATASETS`) come with their true
        individual parameters (:func:`load_truth`).

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        Unknown name.

    Examples
    --------
    >>> from pkpd.io import load_dataset
    >>> ds = load_dataset("theophylline")
    >>> ds
    Dataset(12 subjects, 144 records: 12 doses, 132 observations; covariates: WT, DOSE_MGKG; source: theophylline.csv)
    >>> ds.doses[["ID", "TIME", "AMT", "CMT", "WT", "DOSE_MGKG"]].head(2)
       ID  TIME      AMT  CMT    WT  DOSE_MGKG
    0   1   0.0  319.992    1  79.6       4.02
    1   2   0.0  318.560    1  72.4       4.40
    >>> len(load_dataset("indometacin"))
    6
    """
    key = str(name).strip().lower()
    if key not in DATASETS:
        raise DatasetError(f"no dataset named {name!r}; expected one of {', '.join(DATASETS)}")
    with resources.as_file(resources.files(__package__) / "data" / f"{key}.csv") as path:
        return read_nonmem(path)


def load_truth(name: str):
    """True individual parameters of a shipped synthetic dataset (one row per ID), as a DataFrame.

    >>> load_truth("synthetic_oral_1cmt")[["ID", "CL"]].shape
    (24, 2)
    """
    import pandas as pd

    key = str(name).strip().lower()
    if not key.startswith("synthetic_") or key not in DATASETS:
        synthetic = [k for k in DATASETS if k.startswith("synthetic_")]
        raise DatasetError(f"no synthetic dataset named {name!r}; expected one of {', '.join(synthetic)}")
    with resources.as_file(resources.files(__package__) / "data" / f"{key}_truth.csv") as path:
        return pd.read_csv(path)
