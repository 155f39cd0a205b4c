"""The quantities the SE calibration (:mod:`pkpd.se.calibration`) fits: their bounds and the model parameters each
sets, the values of the last fit, the library's current values, and the model parameters of an arm from them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import scenarios
from ..errors import ModelError
from . import defaults as SE

#: Calibrated quantity -> (model parameters it sets, lower bound, upper bound): the free parameters of
#: ``pkpd/se/validation_targets.toml`` (``OMEGA_E0`` is the cohort IIV of ``SEIZURE.E0``; ``G_2L`` is the one
#: weight shared by every second-line drug; ``K_SEIZURE`` sets both activity rate constants).
CALIBRATION_PARAMETERS = {
    "E0": (("SEIZURE.E0",), 1.3, 30.0),
    "OMEGA_E0": ((), 0.05, 3.0),
    "G_BZD": (("SEIZURE.G_BZD", "SEIZURE.G_BARB"), 0.1, 1e4),
    "G_2L": (("SEIZURE.G_LEV", "SEIZURE.G_FOS", "SEIZURE.G_VPA"), 0.1, 1e3),
    "K_SEIZURE": (("SEIZURE.K_ON", "SEIZURE.K_OFF"), 5.0, 2000.0),
    "N_2L": (("LEV_PD.HILL", "FOS_PD.HILL", "VPA_PD.HILL"), 0.5, 8.0),
}

#: The drug prefix a shared parameter belongs to (set only when that drug is given): the GABA-A modulator weight
#: ``G_BZD`` is also phenobarbital's (its effect ``BARB``, :func:`pkpd.se.scenarios.se_model`).
_OWNER = {"SEIZURE.G_LEV": "LEV", "SEIZURE.G_FOS": "FOS", "SEIZURE.G_VPA": "VPA", "SEIZURE.G_BARB": "PB",
          "LEV_PD.HILL": "LEV", "FOS_PD.HILL": "FOS", "VPA_PD.HILL": "VPA"}

#: The calibrated values frozen in :data:`pkpd.se.defaults.NETWORK` / ``IIV`` and how they were obtained.
CALIBRATED = {
    "values": {"E0": 2.663, "OMEGA_E0": 1.692, "G_BZD": 121.2, "G_2L": 15.27, "K_SEIZURE": 143.7, "N_2L": 5.028},
    "fit": ("calibrate(free=all six, trials=(RAMPART, ESETT) with RAMPART's two median times to cessation, n=1000, "
            "seed=2024, diff_step=0.05), restarted twice from the previous optimum with K_SEIZURE and N_2L moved up "
            "(the conditional profile showed the sum of squares still falling there); lmfit least_squares; the "
            "evaluation with the least sum of squares, 8.51 over 7 residuals; values rounded to 4 significant digits"),
    "misses": ("ESETT valproate +8.05 percentage points, just outside 8 (one shared second-line weight and slope "
               "cannot make phenytoin, which reaches the brain through a 10-min prodrug conversion, as fast as "
               "valproate: fosphenytoin -6.7); the other six calibration targets are met"),
    # conditional profile (the others fixed at the fit; narrower than the full profile), n 1000, 9 points from
    # 0.6x to 1.6x: SS within 3.84 of its least value; None: the profile had not risen by 3.84 at the grid's end
    "intervals": {"E0": (2.395, 3.015), "OMEGA_E0": (1.500, 1.916), "G_BZD": (112.5, 137.2), "G_2L": (13.82, 16.21),
                  "K_SEIZURE": (None, None), "N_2L": (3.458, None)},
    "interval_method": ("profile(name, grid=value x (0.6 ... 1.6), refit_nfev=0, n=1000): conditional profile, the "
                        "other quantities fixed at the fit. K_SEIZURE is not identified in that range (the sum of "
                        "squares stays within 1.4 of its least value from 0.6x to 1.6x); N_2L has no upper end (the "
                        "sum falls to 7.2 at 1.6x: the second-line effect is close to a switch)"),
    "date": "2026-12-06",
}


def defaults() -> dict:
    """The current library values of the calibrated quantities (:data:`CALIBRATION_PARAMETERS`).

    >>> sorted(defaults())
    ['E0', 'G_2L', 'G_BZD', 'K_SEIZURE', 'N_2L', 'OMEGA_E0']
    """
    net = SE.NETWORK
    return {"E0": net["E0"].value, "OMEGA_E0": SE.IIV["E0"], "G_BZD": net["G_BZD"].value, "G_2L": net["G_2L"].value,
            "K_SEIZURE": net["K_SEIZURE"].value, "N_2L": net["N_2L"].value}


def model_params(values: Mapping, drugs: Sequence[str]) -> tuple[dict, dict]:
    """Model parameter changes and cohort IIV for an arm giving ``drugs``, from calibrated ``values``
    (missing quantities keep their defaults). Returns ``(params, iiv)``.

    >>> p, iiv = model_params({"E0": 5.0}, ("midazolam",))
    >>> p["SEIZURE.E0"], "SEIZURE.G_LEV" in p
    (5.0, False)
    """
    v = {**defaults(), **dict(values)}
    unknown = sorted(set(values) - set(CALIBRATION_PARAMETERS))
    if unknown:
        raise ModelError(f"unknown calibration quantities {unknown}; known: {sorted(CALIBRATION_PARAMETERS)}")
    prefixes = {scenarios.DRUGS[d]["prefix"] for d in drugs}
    params, iiv = {}, {"E0": float(v["OMEGA_E0"])}
    for key, (names, _, _) in CALIBRATION_PARAMETERS.items():
        for name in names:
            owner = _OWNER.get(name)
            if owner and owner not in prefixes:
                continue
            if name == "SEIZURE.G_BZD" and not any(scenarios.DRUGS[d]["role"] == "bzd" for d in drugs):
                continue
            params[name] = float(v[key])
    return params, iiv


def _relevant(values: Mapping, drugs: Sequence[str]) -> tuple:
    v = {**defaults(), **dict(values)}
    return tuple((k, float(v[k])) for k in CALIBRATION_PARAMETERS)
