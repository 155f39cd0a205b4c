"""Regression: a composed prodrug's unbound concentration ``<drug>.CU`` is FU x the parent's CP.

It was FU x CPRO (the prodrug's first output), so a brain compartment behind fosphenytoin saw fosphenytoin, not
phenytoin, and emptied while phenytoin stayed in plasma (found in issue 14).
"""

import pytest

import pkpd


def test_fosphenytoin_unbound_concentration_is_that_of_phenytoin():
    drug = pkpd.drugs.fosphenytoin()
    model = pkpd.compose(*drug.components())
    r = model.simulate(drug.dose(1000.0, "iv", duration=1 / 6), [0.1, 1.0, 6.0], drug.params, method="ode")
    for k in range(3):
        assert float(r["FOS.CU"][k]) == pytest.approx(0.112 * float(r["FOS.CP"][k]), rel=1e-12)
    assert float(r["FOS.CPRO"][2]) < 1e-3 * float(r["FOS.CP"][2])     # the prodrug is gone by 6 h, phenytoin is not
