"""Unit tests of pkpd.physiology.chloride: vectorisation, temperature and bad input."""

import numpy as np
import pytest

import pkpd
from pkpd.physiology.chloride import RT_F, Chloride, e_gaba, ghk, nernst


def test_functions_broadcast_and_return_floats_for_scalars():
    ci = np.array([[5.0, 10.0, 20.0]])
    co = np.array([[120.0], [130.0]])
    e = nernst(ci, co, z=-1)
    assert e.shape == (2, 3)
    assert e[1, 2] == pytest.approx(nernst(20.0, 130.0, z=-1))
    assert isinstance(nernst(5.0, 120.0, -1), float)
    assert isinstance(e_gaba(5.0), float)
    assert isinstance(ghk(5.0, 15.0), float)
    assert isinstance(RT_F(), float)
    assert e_gaba([5.0, 20.0]).shape == (2,)
    assert ghk([5.0, 20.0], [15.0, 12.0], p_ratio=[0.2, 0.25]).tolist() == pytest.approx([-73.43, -45.46], abs=0.01)
    assert np.all(np.diff(e_gaba(np.linspace(1, 100, 50))) > 0)  # more chloride, more depolarized


def test_limits_and_consistency():
    # no bicarbonate term: E_GABA = E_Cl
    assert e_gaba(7.0, g_ratio=0.0) == pytest.approx(nernst(7.0, 120.0, -1))
    assert ghk(7.0, 15.0, p_ratio=0.0) == pytest.approx(nernst(7.0, 120.0, -1))
    # equal concentrations: zero
    assert nernst(120.0, 120.0, -1) == 0.0
    # cation sign: K+ 140 in / 4 out -> about -95 mV at 37 °C
    assert nernst(140.0, 4.0, z=1) == pytest.approx(-95.0, abs=0.5)
    # divalent: half the voltage
    assert nernst(1e-4, 2.0, z=2) == pytest.approx(nernst(1e-4, 2.0, z=1) / 2)


def test_temperature_dependence():
    """RT/F at 22, 32, 35 °C = 25.43, 26.30, 26.55 mV (computed [C]); potentials scale with T."""
    assert RT_F([22.0, 32.0, 35.0]).tolist() == pytest.approx([25.43, 26.30, 26.55], abs=0.005)
    ratio = (22.0 + 273.15) / (37.0 + 273.15)
    assert nernst(5.0, 120.0, -1, temperature_c=22.0) == pytest.approx(ratio * nernst(5.0, 120.0, -1))
    assert e_gaba(5.0, temperature_c=22.0) == pytest.approx(ratio * e_gaba(5.0))
    assert ghk(5.0, 15.0, temperature_c=22.0) == pytest.approx(ratio * ghk(5.0, 15.0))
    assert nernst(5.0, 120.0, -1, temperature_c=[22.0, 37.0]).shape == (2,)


@pytest.mark.parametrize(
    "call, name, value",
    [
        (lambda: nernst(0.0, 120.0, -1), "c_in", "0.0"),
        (lambda: nernst(5.0, -120.0, -1), "c_out", "-120.0"),
        (lambda: nernst([5.0, -1.0], 120.0, -1), "c_in", "-1.0"),
        (lambda: nernst(5.0, 120.0, 0), "z", "0.0"),
        (lambda: ghk(-5.0, 15.0), "cl_in", "-5.0"),
        (lambda: ghk(5.0, 0.0), "hco3_in", "0.0"),
        (lambda: ghk(5.0, 15.0, cl_out=0.0), "cl_out", "0.0"),
        (lambda: ghk(5.0, 15.0, hco3_out=-24.0), "hco3_out", "-24.0"),
        (lambda: ghk(5.0, 15.0, p_ratio=-0.2), "p_ratio", "-0.2"),
        (lambda: e_gaba(0.0), "cl_in", "0.0"),
        (lambda: e_gaba(np.array([5.0, np.nan])), "cl_in", "nan"),
        (lambda: e_gaba(5.0, hco3_in=-15.0), "hco3_in", "-15.0"),
        (lambda: e_gaba(5.0, cl_out=0.0), "cl_out", "0.0"),
        (lambda: e_gaba(5.0, hco3_out=0.0), "hco3_out", "0.0"),
        (lambda: e_gaba(5.0, g_ratio=-1.0), "g_ratio", "-1.0"),
        (lambda: RT_F(-300.0), "temperature_c", "-300.0"),
    ],
)
def test_bad_input_names_the_argument_and_value(call, name, value):
    with pytest.raises(pkpd.ModelError) as err:
        call()
    assert name in str(err.value)
    assert value in str(err.value)


def test_inputs_are_not_modified():
    ci = np.array([5.0, 20.0])
    before = ci.copy()
    e_gaba(ci)
    ghk(ci, 15.0)
    nernst(ci, 120.0, -1)
    np.testing.assert_array_equal(ci, before)


def test_chloride_component_declaration_and_overrides():
    c = Chloride(CL0=7.0)
    names = [p.name for p in c.parameters]
    assert {"CL0", "KEXT", "KLOAD", "KLOSS", "KCC2_MIN", "KREC", "G_RATIO"} <= set(names)
    assert all(p.unit and p.description.startswith("[") for p in c.parameters)
    assert next(p for p in c.parameters if p.name == "CL0").default == 7.0
    assert c.initial_state({"CL0": 7.0})["CL_IN"] == 7.0
    with pytest.raises(pkpd.ModelError, match="NOPE"):
        Chloride(NOPE=1.0)
    model = pkpd.compose(c)
    assert model.outputs == ("CHLORIDE.E_GABA", "CHLORIDE.CL_IN", "CHLORIDE.KCC2", "CHLORIDE.E_CL")
    res = model.simulate(pkpd.Bolus(0.0, cmt="CHLORIDE.KCC2"), [0.0, 5.0], method="ode")
    np.testing.assert_allclose(res["CHLORIDE.CL_IN"], 7.0)
    np.testing.assert_allclose(res["CHLORIDE.E_GABA"], e_gaba(7.0))


def test_quantities_are_vectorised_over_subjects_and_times():
    c = Chloride()
    p = {par.name: np.full((3, 1), par.default) for par in c.parameters}
    y = {"CL_IN": np.array([[5.0, 20.0], [5.0, 20.0], [5.0, 20.0]]), "KCC2": np.ones((3, 2))}
    q = c.quantities(y, p, {})
    assert q["E_GABA"].shape == (3, 2)
    np.testing.assert_allclose(q["E_GABA"][:, 1], -42.0, atol=0.01)
