"""Steps in the fixed effects that the random effects reproduce exactly.

With ``CL = TVCL * exp(eta)``, the individual parameters at ``(TVCL * (1 + e), eta)`` are those at
``(TVCL, eta + log(1 + e))``: a step in a typical value that carries a log-normal random effect is a shift of that
random effect, the same for every subject (a covariate coefficient on such a parameter: a shift that differs
between subjects). The predictions, and their eta-derivatives, at the new fixed effects are
then those already computed at the shifted random effects -- no simulation is needed. The outer search's
finite-difference gradient takes such steps (one per fixed effect per iteration); the EBE search
(:meth:`pkpd.estimation._objective.Objective.ebe`) uses :func:`eta_shift` to move its last simulated point instead
of simulating again. NONMEM 7 asks its users to declare this relation (``MU_i``, "MU referencing": Beal, Sheiner,
Boeckmann & Bauer, NONMEM Users Guides, ICON, help entry MU_MODEL) for its EM methods; here it is found.

The shift is found numerically from the population model's own parameter function, so that it serves any model
(built-in log-normal effects, covariate models, a user's ``individual`` function), and it is accepted only where it
reproduces the individual parameters to :data:`TOLERANCE` at the random effects and at a step of 0.1 from them in
every direction: a fixed effect that no random effect reproduces (a typical value without one, a parameter scaling
a random effect) is left to the simulation.
"""

from __future__ import annotations

import numpy as np

__all__ = ["eta_shift", "TOLERANCE"]

#: relative agreement of the individual parameters required of a shift (rounding of exp and log: ~1e-15)
TOLERANCE = 1e-11


def eta_shift(popmodel, design, theta_from, theta_to, eta: np.ndarray) -> np.ndarray | None:
    """The shift ``s`` (subjects, random effects) with ``parameters(theta_to, eta') == parameters(theta_from,
    eta' + s)`` near ``eta``, or None when there is none (or parameters change within subjects).

    Examples
    --------
    >>> import numpy as np, pkpd
    >>> from pkpd.models import OneCompartmentOral
    >>> pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.0, "V": 30.0, "KA": 1.0}, {"CL": 0.1},
    ...                           pkpd.AdditiveError(0.5))
    >>> events = pkpd.load_dataset("theophylline").events
    >>> design = pm.design(events, events["ID"].factorize()[0])
    >>> s = eta_shift(pm, design, pm.theta_values, dict(pm.theta_values, CL=2.0 * (1 + 1e-6)), np.zeros((12, 1)))
    >>> bool(np.allclose(s, np.log(1 + 1e-6), rtol=1e-9))
    True
    >>> eta_shift(pm, design, pm.theta_values, dict(pm.theta_values, V=30.0 * (1 + 1e-6)), np.zeros((12, 1))) is None
    True
    """
    if design.records is not None or eta.shape[1] != len(popmodel.eta_names) or not eta.shape[1]:
        return None
    if theta_to.keys() != theta_from.keys():
        return None
    q = eta.shape[1]
    steps, probes = 1e-4 * np.eye(q), np.vstack([np.zeros(q), 0.1 * np.eye(q)])
    try:
        with np.errstate(all="ignore"):
            base, *stepped = _parameters(popmodel, design, theta_from, [eta] + [eta + h for h in steps])
            expected = _parameters(popmodel, design, theta_to, [eta + probe for probe in probes])
            target = expected[0]
            if not (np.all(np.isfinite(base)) and np.all(np.isfinite(target))):
                return None
            scale = np.maximum(np.abs(base), 1e-300)
            # (subjects, parameters, effects)
            jac = np.stack([(moved - base) / (1e-4 * scale) for moved in stepped], axis=2)
            solve = np.linalg.pinv(jac)
            shift = (solve @ ((target - base) / scale)[..., None])[..., 0]
            # one Newton correction: the parameters are not linear in eta (exp), and the tolerance is tight
            moved = _parameters(popmodel, design, theta_from, [eta + shift])[0]
            shift += (solve @ ((target - moved) / scale)[..., None])[..., 0]
            got = _parameters(popmodel, design, theta_from, [eta + shift + probe for probe in probes])
            for g, e in zip(got, expected):
                if not np.all(np.abs(g - e) <= TOLERANCE * np.maximum(np.abs(e), 1e-12)):
                    return None
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None
    return shift


def _parameters(popmodel, design, theta, etas) -> list[np.ndarray]:
    """The individual parameters (subjects, parameters) at each of ``etas``, in the order of the model's parameter
    function (:meth:`~pkpd.population.PopulationModel.parameters_many`: one call for them all)."""
    many = popmodel.parameters_many(theta, etas, design.subjects, checked=design.subject_values)
    out = np.empty((len(etas), len(etas[0]), len(many[0])))
    for j, values in enumerate(many):
        for k, name in enumerate(values):
            out[j, :, k] = values[name]
    return list(out)
