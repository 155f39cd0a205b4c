"""Pharmacodynamics: concentration-effect functions and PD components (sources in docs/references.md).

Pure functions, vectorised with numpy (every argument broadcasts against the others):

- :func:`emax` -- sigmoid Emax, ``E = E0 + Emax C^h / (EC50^h + C^h)``.
- :func:`operational` -- Black & Leff (1983) operational model of agonism,
  ``E = Em tau^n A^n / ((A + KA)^n + tau^n A^n)``, with its apparent potency and efficacy
  :func:`operational_ec50` and :func:`operational_emax`.
- :func:`allosteric_shift` -- fold increase of GABA potency by a benzodiazepine (allosteric ternary complex).
- :func:`bliss`, :func:`loewe_combination_index`, :func:`greco_effect` -- drug combinations.

Components (subclasses of :class:`pkpd.models.Component`, to :func:`pkpd.compose` with PK models):

- :class:`EffectCompartment` -- Sheiner (1979) effect site, ``dCe/dt = KE0 (C - Ce)``.
- :class:`IndirectResponse` -- Dayneka (1993) indirect response models, types I-IV.
- :class:`OperationalEffect` -- operational model whose efficacy ``tau`` is proportional to the surface
  receptor fraction (GABA-A receptor internalisation in status epilepticus).

Units are the package's: concentrations mg/L (1 ng/mL = 0.001 mg/L), time h, rate constants 1/h.

Why receptor loss alone cannot explain benzodiazepine resistance
-----------------------------------------------------------------
In the operational model the efficacy is ``tau = [R0]/KE``; internalisation scales it,
``tau = tau0 f`` with ``f`` the surface receptor fraction (Naylor 2005: 38 -> 20 receptors per synapse
after 1 h of SE, ``f = 0.53`` [S]). With the transducer slope ``n = 1``::

    EC50,obs = KA / (1 + tau)            Emax,obs = Em tau / (1 + tau)

so the fold changes caused by ``f`` are

    EC50 fold  = (1 + tau0) / (1 + f tau0)            (rises from 1 at tau0 -> 0 to 1/f at tau0 -> inf)
    Emax ratio = f (1 + tau0) / (1 + f tau0) = f * EC50 fold.

Hence, for *any* tau0, the EC50 rises at most ``1/f``-fold (<= 2-fold for ``f >= 0.5``) and the maximal
effect keeps at least the fraction ``f`` (falls by at most ``1 - f``, i.e. 35 % at ``f = 0.65``); and the two
cannot both be large, since ``Emax ratio / EC50 fold = f``. A 10-fold shift together with a 40 % loss would
need ``f <= 0.06``. For a general slope ``n`` (closed forms below) the bound loosens only slowly: at
``f = 0.65`` the largest EC50 fold compatible with a >= 40 % loss of Emax is 1.1 (n = 1.5), 1.3 (n = 2),
1.7 (n = 3), 2.1 (n = 4) and reaches 10 only at n ~ 20 (computed by scanning tau0 over 1e-3..1e4).
Operational-model algebra alone therefore cannot give a >= 10-fold EC50 shift with a >= 40 % fall of
Emax at a receptor fraction >= 0.5.

:class:`OperationalEffect` therefore has one explicit extra term: the benzodiazepine's functional
affinity falls with the internalised fraction (loss of the gamma2-containing, benzodiazepine-sensitive
synaptic receptors, Goodkin 2008 [M]; Kapur & Macdonald 1997: dentate granule cell GABA-A currents
become less sensitive to diazepam while GABA sensitivity is kept [S], with a ~20-fold loss of diazepam
potency [M])::

    KA,eff = KA (1 + KSHIFT (1 - f_potency))

where ``f_potency`` is the surface fraction of the receptors that carry the benzodiazepine site (by
default the same quantity that scales ``tau``).

Default benzodiazepine anticonvulsant parameters (:data:`BZD_OPERATIONAL`) -- assumptions stated:

- ``N = 3`` (steep transduction from receptor activation to seizure termination, a network threshold;
  [assumed]) and ``TAU0 = 1.1`` (limited receptor reserve: the benzodiazepine reaches
  ``Emax,obs = 0.571 Em`` with all receptors on the surface; [assumed]). With ``n = 3`` the maximal
  effect falls to ``f^3 (1 + tau0^3) / (1 + f^3 tau0^3)`` of baseline.
- ``KA = 0.05 mg/L`` gives an apparent baseline EC50 of 0.101 mg/L = 101 ng/mL, the lower end of the
  midazolam EEG EC50s (104-120 ng/mL, van Steveninck 1993 [S] PMC1364573; 290 ± 98 ng/mL, Mandema 1990
  [S] PubMed 2323155). Human anticonvulsant EC50s are not established: this is the EEG value.
- ``KSHIFT = 24`` is calibrated so that the total EC50 shift is 20-fold (Kapur & Macdonald ~20-fold
  [M]) at ``f = 0.53`` (Naylor 2005, 1 h SE [S]).
- The surface fraction after 30 min of seizure is taken as 0.6-0.7 of baseline ([assumed]; the
  trafficking model is calibrated to 0.53 at 60 min). Over that range the defaults give an EC50 rise of
  11.6- to 16.5-fold (20.2-fold at 0.53) and a fall of Emax by 45-61 % (71 % at 0.53); the
  operational term alone contributes only 1.41- to 1.55-fold of the EC50 rise (``tests/validation/test_pd_identities.py``).
"""

from __future__ import annotations

from . import _forms
from ._combination import bliss, greco_effect, loewe_combination_index
from ._components import BZD_OPERATIONAL, KE0, EffectCompartment, IndirectResponse, ModulatorEffect, OperationalEffect
from ._forms import allosteric_shift, emax, operational, operational_ec50, operational_emax

__all__ = [
    "emax",
    "operational",
    "operational_ec50",
    "operational_emax",
    "allosteric_shift",
    "bliss",
    "loewe_combination_index",
    "greco_effect",
    "EffectCompartment",
    "IndirectResponse",
    "OperationalEffect",
    "ModulatorEffect",
    "KE0",
    "BZD_OPERATIONAL",
]

#: Public but outside ``__all__``: the unvalidated Hill kernel that the components of pkpd.physiology import.
hill_fraction = _forms.hill_fraction
