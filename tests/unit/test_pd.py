"""pkpd.models.effects: vectorisation, broadcasting, bad input, composition with library PK models."""

import math

import numpy as np
import pytest

import pkpd
from pkpd import ModelError
from pkpd.models import effects as pd
from pkpd.models import Component, OneCompartment, TwoCompartmentOral
from pkpd.models._base import Parameter


# -- vectorisation and broadcasting ----------------------------------------------------------------------------
def test_scalar_inputs_give_floats_and_arrays_give_arrays():
    assert isinstance(pd.emax(0.1, 0.0, 1.0, 0.1), float)
    assert isinstance(pd.operational(0.1, 0.1, 1.0, 1.0), float)
    assert isinstance(pd.greco_effect(0.1, 0.1, 1.0, 1.0, 1.0, 1.0, 0.0), float)
    assert pd.emax([0.0, 0.1], 0.0, 1.0, 0.1).shape == (2,)


def test_functions_broadcast_over_all_arguments():
    c = np.linspace(0, 1, 5)[:, None]              # (5, 1)
    ec50 = np.array([0.1, 0.2, 0.3])               # (3,)
    e = pd.emax(c, 1.0, 2.0, ec50, hill=np.array([[1.0], [2.0], [1.0], [1.0], [3.0]]))
    assert e.shape == (5, 3)
    assert e[2, 1] == pytest.approx(1.0 + 2.0 * 0.5 / (0.2 + 0.5))   # c = 0.5, hill 1, ec50 0.2
    tau = np.array([0.5, 1.0, 2.0])
    assert pd.operational(c, 0.1, tau, 1.0, n=2).shape == (5, 3)
    assert pd.operational_ec50(0.1, tau[:, None], np.array([1.0, 2.0])).shape == (3, 2)
    assert pd.operational_emax(1.0, tau).shape == (3,)
    assert pd.allosteric_shift(c, 0.1, ec50 * 10).shape == (5, 3)
    assert pd.bliss(np.full((2, 1), 0.5), np.array([0.1, 0.2, 0.3])).shape == (2, 3)
    assert pd.loewe_combination_index(c, 0.1, 1.0, ec50).shape == (5, 3)
    g = pd.greco_effect(c, ec50, 1.0, 1.0, 1.0, np.array([[1.0], [2.0], [1.0], [1.0], [1.0]]), 0.5)
    assert g.shape == (5, 3) and g[0, 0] > 0


def test_vectorised_results_equal_elementwise_results():
    c = np.array([0.0, 0.05, 0.3, 2.0])
    tau = np.array([0.1, 1.0, 3.0, 30.0])
    vec = pd.operational(c, 0.1, tau, 1.0, n=1.5)
    loop = [pd.operational(ci, 0.1, ti, 1.0, n=1.5) for ci, ti in zip(c, tau)]
    np.testing.assert_array_equal(vec, loop)
    g = pd.greco_effect(c, c[::-1], 0.3, 0.6, 1.2, 0.7, 1.5)
    np.testing.assert_allclose(g, [pd.greco_effect(a, b, 0.3, 0.6, 1.2, 0.7, 1.5) for a, b in zip(c, c[::-1])],
                               rtol=1e-12)


def test_inputs_are_not_modified():
    c = np.array([0.1, 0.2])
    pd.emax(c, 0.0, 1.0, 0.1)
    pd.greco_effect(c, c, 1.0, 1.0, 1.0, 1.0, 0.0)
    np.testing.assert_array_equal(c, [0.1, 0.2])


def test_greco_without_drugs_is_zero_and_impossible_antagonism_is_nan():
    assert pd.greco_effect(0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0) == 0.0
    # equal slopes: the equation reads (a/IC50a + b/IC50b + alpha a b/(IC50a IC50b)) / X^(1/m) = 1: no root when
    # the bracket is negative
    assert math.isnan(pd.greco_effect(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, alpha=-3.0))


# -- bad input -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda: pd.emax([0.1, -0.2], 0, 1, 0.1), r"emax: c must be >= 0, got -0.2"),
    (lambda: pd.emax(0.1, 0, 1, 0.0), r"emax: ec50 must be > 0, got 0.0"),
    (lambda: pd.emax(0.1, 0, 1, -1.0), r"ec50 must be > 0, got -1.0"),
    (lambda: pd.emax(0.1, 0, 1, 0.1, hill=0), r"hill must be > 0, got 0"),
    (lambda: pd.emax(np.nan, 0, 1, 0.1), r"c must not be NaN"),
    (lambda: pd.emax("x", 0, 1, 0.1), r"c must be numeric"),
    (lambda: pd.operational(-1.0, 0.1, 1.0, 1.0), r"operational: a must be >= 0, got -1.0"),
    (lambda: pd.operational(1.0, 0.0, 1.0, 1.0), r"operational: ka must be > 0, got 0.0"),
    (lambda: pd.operational(1.0, 0.1, -1.0, 1.0), r"operational: tau must be >= 0, got -1.0"),
    (lambda: pd.operational_ec50(0.1, 1.0, n=-2), r"operational_ec50: n must be > 0, got -2.0"),
    (lambda: pd.operational_emax(np.inf, 1.0), r"operational_emax: em must be finite"),
    (lambda: pd.allosteric_shift(-0.1, 1.0, 2.0), r"allosteric_shift: b must be >= 0, got -0.1"),
    (lambda: pd.allosteric_shift(0.1, 1.0, 0.0), r"allosteric_shift: alpha must be > 0, got 0.0"),
    (lambda: pd.bliss(1.2, 0.1), r"bliss: ea must be within \[0, 1\], got 1.2"),
    (lambda: pd.loewe_combination_index(1, 1, 0, 1), r"a_alone must be > 0, got 0.0"),
    (lambda: pd.greco_effect(-1, 1, 1, 1, 1, 1, 0), r"greco_effect: a must be >= 0, got -1.0"),
    (lambda: pd.greco_effect(1, 1, 1, 0, 1, 1, 0), r"greco_effect: ic50b must be > 0, got 0.0"),
])
def test_bad_function_input_raises_model_error_naming_argument_and_value(call, match):
    with pytest.raises(ModelError, match=match):
        call()


@pytest.mark.parametrize("make,match", [
    (lambda: pd.IndirectResponse("R", "D", kind=5, ic50=1.0), r"kind must be 1, 2, 3 or 4.*got 5"),
    (lambda: pd.IndirectResponse("R", "D", kind=0, ic50=1.0), r"got 0"),
    (lambda: pd.IndirectResponse("R", "D", kind=True, ic50=1.0), r"got True"),
    (lambda: pd.IndirectResponse("R", "D", kind=1), r"kind 1 needs ic50"),
    (lambda: pd.IndirectResponse("R", "D", kind=1, ic50=-1.0), r"ic50 must be > 0, got -1.0"),
    (lambda: pd.IndirectResponse("R", "D", kind=2, ic50=1.0, imax=1.5), r"imax must be within \[0.0, 1.0\], got 1.5"),
    (lambda: pd.IndirectResponse("R", "D", kind=3, emax=1.0), r"kind 3 needs emax and ec50"),
    (lambda: pd.IndirectResponse("R", "D", kind=3, emax=1.0, ec50=0.0), r"ec50 must be > 0, got 0.0"),
    (lambda: pd.IndirectResponse("R", "D", kind=4, ic50=1.0, emax=1.0, ec50=1.0), r"stimulatory: give emax"),
    (lambda: pd.IndirectResponse("R", "D", kind=1, ec50=1.0), r"inhibitory: give imax and ic50"),
    (lambda: pd.IndirectResponse("R", "D", kind=3, emax=1, ec50=1, kout=0), r"kout must be > 0, got 0"),
    (lambda: pd.EffectCompartment("MDZ", ke0=-1.0), r"EffectCompartment\(MDZ\): ke0 must be > 0, got -1.0"),
    (lambda: pd.EffectCompartment("XYZ"), r"no default ke0 for 'XYZ'"),
    (lambda: pd.EffectCompartment("not a name", ke0=1.0), r"drug must be a name"),
    (lambda: pd.EffectCompartment("MDZ", source="A.B.C"), r"source must be a qualified quantity name"),
    (lambda: pd.OperationalEffect("PD", "MDZ", ka=0.0), r"OperationalEffect\(PD\): ka must be > 0, got 0.0"),
    (lambda: pd.OperationalEffect("PD", "MDZ", tau0=-1), r"tau0 must be within"),
    (lambda: pd.OperationalEffect("PD", "MDZ", receptor="SURFACE"), r"receptor must be a qualified quantity name"),
    (lambda: pd.OperationalEffect("PD", "MDZ", receptor=3), r"receptor must be a quantity name"),
])
def test_bad_component_arguments_raise_model_error(make, match):
    with pytest.raises(ModelError, match=match):
        make()


# -- components ------------------------------------------------------------------------------------------------
class Surface(Component):
    """A constant surface receptor fraction for tests."""

    prefix = "GABAA"
    parameters = (Parameter("FRACTION", 1.0, "1", 0.0, 1.0, "surface fraction"),)
    provides = ("SURFACE_A235",)

    def quantities(self, y, p, q):
        return {"SURFACE_A235": p["FRACTION"]}


def test_component_declarations():
    ec = pd.EffectCompartment("MDZ")
    assert ec.prefix == "MDZ_EFFECT" and ec.reads == {"MDZ.CP": None}
    assert ec.parameters[0].default == pytest.approx(math.log(2) / (5 / 60))
    assert pd.EffectCompartment("MDZ", source="CBRAIN_U").reads == {"MDZ.CBRAIN_U": None}
    assert pd.EffectCompartment("MDZ", ke0=2.0, source="MDZ_BRAIN.CU").reads == {"MDZ_BRAIN.CU": None}
    op = pd.OperationalEffect("MDZ_PD", "MDZ", receptor="GABAA.SURFACE_A235", concentration="MDZ.CBRAIN_U")
    assert set(op.reads) == {"MDZ.CBRAIN_U", "GABAA.SURFACE_A235"}
    assert set(op.quantity_reads) == set(op.reads)
    assert pd.OperationalEffect("P", "MDZ", receptor=Surface()).receptor == "GABAA.SURFACE_A235"

    class Pools(Component):
        prefix, provides = "REC", ("SURFACE_A1", "SURFACE_A235", "SURFACE")

    class Ambiguous(Component):
        prefix, provides = "REC", ("SURFACE_A1", "SURFACE_A235")

    assert pd.OperationalEffect("P", "MDZ", receptor=Pools()).receptor == "REC.SURFACE"
    with pytest.raises(ModelError, match="cannot tell which quantity"):
        pd.OperationalEffect("P", "MDZ", receptor=Ambiguous())
    ir = pd.IndirectResponse("R", "D", 2, ic50=0.5)
    assert [p.name for p in ir.parameters] == ["KIN", "KOUT", "IMAX", "IC50", "HILL"]


def test_operational_effect_quantities_broadcast_over_subjects_and_times():
    op = pd.OperationalEffect("PD", "MDZ", receptor="GABAA.SURFACE_A235")
    p = {par.name: np.array([[par.default], [par.default]]) for par in op.parameters}   # 2 subjects
    q = {"MDZ_EFFECT.CE": np.array([[0.0, 0.1, 1.0], [0.2, 0.3, 0.4]]),
         "GABAA.SURFACE_A235": np.array([[1.0, 1.0, 1.0], [0.6, 0.6, 0.6]])}
    out = op.quantities({}, p, q)
    for name in op.provides:
        assert out[name].shape == (2, 3)
    assert out["EFFECT"][0, 0] == 0.0
    d = pd.BZD_OPERATIONAL
    assert out["EFFECT"][1, 2] == pytest.approx(pd.operational(0.4, d["KA"] * (1 + d["KSHIFT"] * 0.4),
                                                               d["TAU0"] * 0.6, 1.0, d["N"]), rel=1e-12)


def test_compose_library_pk_with_effect_site_and_operational_effect_and_simulate():
    model = pkpd.compose(OneCompartment(drug="MDZ"), pd.EffectCompartment("MDZ", ke0=8.0),
                         pd.OperationalEffect("MDZ_PD", "MDZ"))
    assert model.states == ("MDZ.CENTRAL", "MDZ_EFFECT.CE")
    assert "MDZ_PD.EFFECT" in model.outputs and "MDZ_EFFECT.CE" in model.outputs
    times = np.linspace(0, 4, 49)
    params = {"MDZ.CL": np.array([24.0, 12.0]), "MDZ.V": np.array([77.0, 77.0])}
    res = model.simulate(pkpd.Bolus(10, cmt="MDZ.CENTRAL"), times, params)
    frame = res.to_frame()
    assert set(frame["ID"]) == {1, 2} and len(frame) == 2 * len(times)
    eff = frame.pivot(index="TIME", columns="ID", values="MDZ_PD.EFFECT").to_numpy()
    assert np.all((eff >= 0) & (eff < 0.571))
    assert eff[0, 0] == 0.0 and np.argmax(eff[:, 0]) > 0           # delayed by the effect site
    assert np.all(eff[-1, 1] > eff[-1, 0])                          # slower clearance, more effect later


def test_compose_with_receptor_brain_and_indirect_response():
    """A two-compartment oral drug, its unbound brain concentration (BrainPgp), a surface-receptor component,
    an effect site fed by the brain and an indirect response driven by the effect site."""
    from pkpd.physiology import BrainPgp

    model = pkpd.compose(
        TwoCompartmentOral(drug="MDZ"), BrainPgp("MDZ"), Surface(),
        pd.EffectCompartment("MDZ", ke0=5.0, source="CBRAIN_U"),
        pd.OperationalEffect("MDZ_PD", "MDZ", receptor="GABAA.SURFACE_A235"),
        pd.IndirectResponse("SED", "MDZ_EFFECT", 4, kin=1.0, kout=2.0, emax=3.0, ec50=0.01, source="CE"),
    )
    params = {"MDZ.CL": 24.0, "MDZ.V1": 40.0, "MDZ.Q": 30.0, "MDZ.V2": 40.0, "MDZ.KA": 3.0, "MDZ.FU": 0.05,
              "GABAA.FRACTION": np.array([1.0, 0.6])}
    res = model.simulate(pkpd.Bolus(10, cmt="MDZ.DEPOT"), [0.0, 0.5, 1.0, 2.0], params)
    assert res["SED.RESPONSE"].shape == (8,)
    frame = res.to_frame().set_index(["ID", "TIME"])
    assert frame.loc[(1, 0.0), "SED.RESPONSE"] == pytest.approx(0.5)
    assert frame.loc[(1, 1.0), "SED.RESPONSE"] < 0.5                  # type IV lowers the response
    assert frame.loc[(2, 1.0), "MDZ_PD.EFFECT"] < frame.loc[(1, 1.0), "MDZ_PD.EFFECT"]   # receptor loss
    assert frame.loc[(2, 1.0), "MDZ_PD.EC50_APP"] > 10 * frame.loc[(1, 1.0), "MDZ_PD.EC50_APP"]


def test_operational_effect_requires_its_quantities_to_be_provided():
    with pytest.raises(ModelError, match="reads 'GABAA.SURFACE_A235', which no component provides"):
        pkpd.compose(OneCompartment(drug="MDZ"), pd.EffectCompartment("MDZ"),
                     pd.OperationalEffect("MDZ_PD", "MDZ", receptor="GABAA.SURFACE_A235"))


def test_star_import_does_not_shadow_pandas_and_the_old_name_says_where_it_went():
    namespace = {}
    exec("import pandas as pd\nfrom pkpd import *", namespace)   # noqa: S102 - the user's own script
    assert namespace["pd"].__name__ == "pandas" and namespace["effects"].__name__ == "pkpd.models.effects"
    import importlib
    import sys

    sys.modules.pop("pkpd.pd", None)
    with pytest.raises(ImportError, match="pkpd.pd was renamed pkpd.models.effects"):
        importlib.import_module("pkpd.pd")
