"""Drug library: documented parameter sets, each returning components ready for :func:`pkpd.compose`.

Every value is tagged: [S] read in the named source, [M] literature knowledge not checked against the
primary paper, [C] computed or calibrated here (the target named). Each constructor's docstring (also
:attr:`Drug.sources`) lists them; the full references are in docs/references.md.

Examples
--------
Rifampicin induces CYP3A4, which clears midazolam:

>>> import pkpd
>>> from pkpd import drugs
>>> mdz, rif = drugs.midazolam(), drugs.rifampicin()
>>> model = pkpd.compose(*mdz.components(), *rif.components(), drugs.cyp3a4(inducers=[rif]))
>>> params = {**mdz.params, **rif.params}
>>> regimen = rif.dose(600, "oral", ii=24, addl=6) + mdz.dose(2, "iv", time=168)
>>> res = model.simulate(regimen, [168.0], params, method="ode")
>>> bool(res["CYP3A4.LIVER"][0] > 3)
True
"""

from ._core import DEPOT_ROUTES, Drug, Metabolite, cyp3a4, enzyme
from ._library import (
    LIBRARY,
    carbamazepine,
    clarithromycin,
    clobazam,
    diazepam,
    fosphenytoin,
    ketamine,
    levetiracetam,
    lorazepam,
    midazolam,
    pgp_probe,
    phenobarbital,
    phenytoin,
    propofol,
    rifampicin,
    tariquidar,
    v2_for_half_life,
    valproate,
)

__all__ = [
    "Drug", "Metabolite", "enzyme", "cyp3a4", "LIBRARY", "v2_for_half_life",
    "midazolam", "lorazepam", "diazepam", "clobazam", "phenytoin", "fosphenytoin", "levetiracetam", "valproate",
    "phenobarbital", "ketamine", "propofol", "carbamazepine", "rifampicin", "clarithromycin", "tariquidar",
    "pgp_probe", "DEPOT_ROUTES",
]
