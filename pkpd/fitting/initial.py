"""Initial estimates from non-compartmental analysis, for fits started without values.

From :func:`pkpd.nca.nca` (medians over subjects): ``CL`` (or CL/F) = Dose / AUCinf, ``V`` = Vz, and for
first-order absorption ``KA`` solving ``tmax = ln(KA / k) / (KA - k)`` with ``k = lambda_z``. Multi-
compartment volumes share Vz (``V1 = V2 = Vz / 2``; three compartments ``Vz / 3`` each) and
intercompartmental clearances start at CL. Parameters NCA cannot inform keep the model defaults; a
parameter NCA cannot compute (e.g. no terminal phase) keeps its default too.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

__all__ = ["initial_estimates"]


def _ka_from_tmax(tmax: float, k: float) -> float:
    """KA > k with ``ln(KA/k) / (KA - k) = tmax`` (Bateman peak time); NaN when none exists."""
    if not (tmax > 0 and k > 0) or tmax >= 1.0 / k:        # tmax -> 1/k as KA -> k
        return math.nan

    def peak(ka):
        return math.log(ka / k) / (ka - k) - tmax

    try:
        return brentq(peak, k * (1 + 1e-9), k * 1e6)
    except ValueError:
        return math.nan


def initial_estimates(model, data) -> dict:
    """Start values for ``model``'s parameters from the NCA of ``data`` (see the module docstring).

    >>> import pkpd
    >>> from pkpd.models import OneCompartmentOral
    >>> est = initial_estimates(OneCompartmentOral(), pkpd.load_dataset("theophylline"))
    >>> {k: round(v, 2) for k, v in est.items()}
    {'CL': 2.9, 'V': 31.08, 'KA': 3.27}
    """
    from ..nca import nca

    table = nca(data)
    names = {p.name for p in model.parameters}
    out = {}

    def median(column):
        values = table[column].to_numpy(dtype=float)
        values = values[np.isfinite(values) & (values > 0)]
        return float(np.median(values)) if values.size else math.nan

    cl, vz, k, tmax = median("CL"), median("VZ"), median("LAMBDA_Z"), median("TMAX")
    volumes = [v for v in ("V", "V1", "V2", "V3") if v in names]
    guesses = {"CL": cl, "Q": cl, "Q3": cl}
    for v in volumes:
        guesses[v] = vz / len(volumes)
    if "KA" in names:
        guesses["KA"] = _ka_from_tmax(tmax, k)
    for name, value in guesses.items():
        if name in names and math.isfinite(value) and value > 0:
            out[name] = value
    return out
