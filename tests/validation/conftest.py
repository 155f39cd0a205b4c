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


@pytest.fixture
def validation(request):
    """Record comparisons with references for the validation report (``python -m tools.validation_report``).

    ``validation.compare(quantity, pkpd_value, reference, rtol=..., atol=..., source=...)`` and
    ``validation.within(quantity, pkpd_value, low, high, source=...)`` assert like ``pytest.approx`` and
    store the comparison in the test's ``user_properties`` (see :class:`tools.validation_report.Recorder`)."""
    from tools.validation_report import Recorder

    return Recorder(request.node)
