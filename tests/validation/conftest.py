"""Shared fixtures of the validation tests."""

import numpy as np
import pytest

import pkpd


@pytest.fixture(scope="session")
def theoph_mgkg():
    """The theophylline dataset with doses in mg/kg, as in R's Theoph (SSfol's Dose)."""
    ev = pkpd.load_dataset("theophylline").events
    ev["AMT"] = np.where(ev["EVID"] == 1, ev["DOSE_MGKG"], 0.0)
    return pkpd.read_nonmem(ev)
