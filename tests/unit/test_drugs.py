"""The drug library (pkpd.drugs): every drug builds, composes, simulates and matches the published value
it was derived from (hand checks; sources in each drug's docstring)."""

import dataclasses
import math

import numpy as np
import pytest

import pkpd
from pkpd import ModelError, drugs

ALL = sorted(drugs.LIBRARY)


def _first_route(d):
    return "iv" if "iv" in d.routes else d.route


@pytest.mark.parametrize("name", ALL)
def test_every_drug_builds_composes_alone_and_simulates_a_standard_dose(name):
    d = drugs.LIBRARY[name]()
    assert d.prefix and d.model.drug == d.prefix and d.mw > 0
    assert "[S]" in d.sources or "[M]" in d.sources
    model = pkpd.compose(*d.components())
    assert set(d.params) <= set(model.parameter_names)
    times = np.linspace(0, 24, 49)
    res = model.simulate(d.dose(10.0, _first_route(d)), times, dict(d.params), method="ode")
    cp = res[f"{d.prefix}.CP"]
    assert np.all(np.isfinite(cp)) and np.all(cp[1:] > 0)
    if d.metabolite is not None:
        cm = res[f"{d.metabolite.prefix}.CP"]
        assert np.all(np.isfinite(cm)) and np.all(cm[1:] > 0)


def test_drugs_are_immutable_values():
    d = drugs.lorazepam()
    with pytest.raises(TypeError):
        d.params["LZP.CL"] = 1.0
    with pytest.raises(AttributeError):
        d.prefix = "X"
    d2 = d.with_params(CL=5.0)
    assert d.params["LZP.CL"] != 5.0 and d2.params["LZP.CL"] == 5.0
    with pytest.raises(ModelError, match="unknown parameters"):
        d.with_params(NOPE=1.0)


def _terminal_half_life(d, t_end, n=2001, tail=0.25):
    model = pkpd.compose(*d.components())
    times = np.linspace(0, t_end, n)
    cp = model.simulate(d.dose(100.0, "iv"), times, dict(d.params), method="ode", rtol=1e-8, atol=1e-12)[f"{d.prefix}.CP"]
    k = int(n * (1 - tail))
    slope = np.polyfit(times[k:], np.log(cp[k:]), 1)[0]
    return -math.log(2) / slope


@pytest.mark.parametrize("name, t_half, t_end", [
    ("midazolam", 2.9, 24),        # PMC1874433 [S]
    ("lorazepam", 14.45, 150),     # Greenblatt 1979: 14.3-14.6 h [S]
    ("diazepam", 44.2, 500),       # Greenblatt 1989 [S]
    ("valproate", 12.2, 150),      # scilit a85412 [S]
    ("phenobarbital", 98.5, 1000),  # Wilensky 1982: Vss 0.54 L/kg, CL 3.8 mL/h/kg [S] -> 98.5 h [C]
    ("levetiracetam", 7.2, 80),    # 0.96 mL/min/kg, 0.6 L/kg [S] -> 7.2 h (6-8 h [S])
    ("ketamine", 2.21, 30),        # Kamp 2020: 252 L, 79 L/h [S]
])
def test_terminal_half_life_matches_the_reference_value(name, t_half, t_end):
    d = drugs.LIBRARY[name]().with_route("iv") if name != "midazolam" else drugs.midazolam()
    assert _terminal_half_life(d, t_end) == pytest.approx(t_half, rel=0.10)


def test_clearances_volumes_and_bioavailability_by_hand():
    mdz = drugs.midazolam()
    assert mdz.params["MDZ.CL"] == pytest.approx(4.4 * 60 / 1000 * 70)           # 18.48 L/h [S]
    assert mdz.routes["im"]["F"] == 0.87 and mdz.routes["intranasal"]["F"] == 0.75
    assert 0.36 <= mdz.routes["oral"]["F"] <= 0.44                                # Smith / Allonen [S]
    lzp = drugs.lorazepam()
    assert lzp.params["LZP.CL"] == pytest.approx(4.515, rel=1e-3)                 # 1.075 mL/min/kg [S]
    vss = lzp.params["LZP.V1"] + lzp.params["LZP.V2"]
    assert 1.14 * 70 <= vss <= 1.30 * 70                                          # Greenblatt 1979 [S]
    pht = drugs.phenytoin()
    assert pht.params["PHT.VMAX"] * 24 == pytest.approx(415.0) and pht.params["PHT.KM"] == 5.7  # Grasela [S]
    assert drugs.phenytoin(weight=35).params["PHT.VMAX"] == pytest.approx(415 / 24 * 0.5**0.6)
    cbz = drugs.carbamazepine()
    assert cbz.params["CBZ.CL"] == 1.75 and cbz.params["CBZ.V"] == 98.0 and cbz.fm["CYP3A4"] == 0.55
    rif = drugs.rifampicin()
    assert rif.induction["CYP3A4"].emax == 12.3 and rif.induction["CYP3A4"].ec50 == 0.0526   # Asaumi [S]
    assert rif.gut_induction_scale == 1.0
    cla = drugs.clarithromycin()
    assert cla.inactivation["CYP3A4"].ki == pytest.approx(5.3 * 747.95 / 1000)  # Quinney 2010 [S]
    assert (cla.inactivation["CYP3A4"].kinact, cla.inactivation["CYP3A4"].kinact_gut) == (0.4, 4.0)


def test_propofol_marsh_and_schnider():
    """Marsh (Absalom 2009 [S]): k10 = CL/V1 = 0.119 /min, k21 = Q/V2 = 0.055 /min, V2 0.463 L/kg.
    Schnider (covariate equations [M]) for 53 y, 77 kg, 177 cm, LBM 59: CL 1.89 L/min, V2 18.9 L."""
    p = drugs.propofol(weight=70).params
    assert p["PPF.CL"] / p["PPF.V1"] == pytest.approx(0.119 * 60)
    assert p["PPF.Q"] / p["PPF.V2"] == pytest.approx(0.055 * 60)
    assert p["PPF.V2"] / 70 == pytest.approx(0.463, rel=0.01)
    assert p["PPF.Q3"] / p["PPF.V3"] == pytest.approx(0.0033 * 60)
    s = drugs.propofol(weight=77, model="schnider", age=53, height=177).params
    lbm = 1.1 * 77 - 128 * (77 / 177) ** 2
    assert s["PPF.CL"] == pytest.approx(60 * (1.89 - 0.0681 * (lbm - 59)))
    assert s["PPF.V1"] == 4.27 and s["PPF.V2"] == pytest.approx(18.9)
    with pytest.raises(ModelError):
        drugs.propofol(model="eleveld")


def test_routes_set_f1_and_dose_refuses_a_route_whose_params_are_not_set():
    mdz = drugs.midazolam()
    assert mdz.route == "oral" and mdz.params["MDZ.F1"] == mdz.routes["oral"]["F"]
    with pytest.raises(ModelError, match="with_route\\('im'\\)"):
        mdz.dose(10, "im")
    im = mdz.with_route("im")
    assert im.params["MDZ.F1"] == 0.87 and im.params["MDZ.KA"] == 4.0
    assert isinstance(im.dose(10, "im"), pkpd.Bolus)
    inf = mdz.dose(10, "iv", duration=0.1)
    assert isinstance(inf, pkpd.Infusion) and inf.cmt == "MDZ.CENTRAL"
    with pytest.raises(ModelError, match="no route"):
        drugs.propofol().dose(100, "oral")


def test_im_midazolam_auc_is_f_times_iv_auc():
    """AUC(IM)/AUC(IV) = F = 0.87 (Bell 1991 [S]) with the liver composed at baseline."""
    mdz = drugs.midazolam()
    model = pkpd.compose(*mdz.components())
    t = np.linspace(0, 48, 2401)
    iv = model.simulate(mdz.dose(10, "iv"), t, dict(mdz.params), method="ode")["MDZ.CP"]
    im_d = mdz.with_route("im")
    im = model.simulate(im_d.dose(10, "im"), t, dict(im_d.params), method="ode")["MDZ.CP"]
    assert np.trapezoid(im, t) / np.trapezoid(iv, t) == pytest.approx(0.87, rel=0.01)


def test_fosphenytoin_gives_phenytoin_and_pe_doses():
    """20 mg PE/kg over 10 min (ESETT [S]); conversion t1/2 10 min [S]: phenytoin peaks within 1 h and
    is near 1400 mg / 78.6 L minus a little elimination."""
    fos = drugs.fosphenytoin()
    model = pkpd.compose(*fos.components())
    t = np.linspace(0, 2, 121)
    res = model.simulate(fos.dose(1400, "iv", duration=1 / 6), t, dict(fos.params), method="ode")
    cp = res["FOS.CP"]
    assert cp[60] > 0.9 * cp.max()                    # conversion essentially complete by 1 h
    assert 14.0 < cp.max() < 1400 / 78.6


def test_cyp3a4_helper_wires_library_parameters():
    mdz, rif, cla, cbz = drugs.midazolam(), drugs.rifampicin(), drugs.clarithromycin(), drugs.carbamazepine()
    enz = drugs.cyp3a4(inducers=[rif, cbz], inactivators=[cla])
    model = pkpd.compose(*mdz.components(), *rif.components(), *cla.components(), *cbz.components(), enz)
    assert model.parameter("CYP3A4.EMAX_RIF").default == 12.3
    assert model.parameter("CYP3A4.KI_CLA").default == pytest.approx(3.964, rel=1e-3)
    assert model.parameter("CYP3A4.GUT_INDUCTION").default == 1.0
    scaled = drugs.cyp3a4(inducers=[rif, dataclasses.replace(cbz, gut_induction_scale=1.7)])
    model = pkpd.compose(*rif.components(), *cbz.components(), scaled)
    assert model.parameter("CYP3A4.GUT_INDUCTION").default == 1.7   # the largest inducer's scale
    with pytest.raises(ModelError, match="no induction parameters"):
        drugs.cyp3a4(inducers=[mdz])


def test_clobazam_genotype_raises_metabolite_not_parent_clearance():
    """N-CLB clearance by CYP2C19 (fm 0.75): PM -> CL_MULT of NCLB = 0.25 (FDA label: parent unchanged)."""
    clb = drugs.clobazam()
    pm = clb.with_genotype("CYP2C19", "*2/*2")
    assert pm.params["NCLB_LIVER.ACT_CYP2C19"] == 0.0
    model = pkpd.compose(*clb.components())
    res = model.simulate(clb.dose(10, "oral"), [1.0], dict(pm.params), method="ode")
    assert res["NCLB.CL_MULT"][0] == pytest.approx(0.25, rel=0.02)   # well-stirred, extraction ~1 %
    assert res["CLB.CL_MULT"][0] == pytest.approx(1.0)


def test_pgp_probe_full_inhibition_raises_kpuu_2_7_fold():
    """Tariquidar at plateau (> 1 mg/L) raises the probe's brain Kp,uu toward the human maximum 2.7-fold
    (PubMed 22166851 [S]); full inhibition gives exactly (CLout + CLpgp)/CLout = 2.7."""
    tqd = drugs.tariquidar()
    probe = drugs.pgp_probe(inhibitors=[tqd])
    assert (10.0 + probe.params["VPM_BRAIN.CLPGP"]) / 10.0 == pytest.approx(2.7)
    model = pkpd.compose(*probe.components(), *tqd.components())
    params = {**probe.params, **tqd.params}
    t = [0.5, 1.0]
    base = model.simulate(probe.dose(0.001, "iv"), t, params, method="ode")["VPM_BRAIN.KPUU"]
    regimen = probe.dose(0.001, "iv") + tqd.dose(3 * 70, "iv", duration=0.5)
    with_tqd = model.simulate(regimen, t, params, method="ode")
    assert with_tqd["TQD.CP"][0] > 1.0
    assert 2.4 < with_tqd["VPM_BRAIN.KPUU"][0] / base[0] <= 2.7


def test_first_pass_follows_the_route():
    """Only oral doses pass the gut wall and liver first: with_route sets the liver's FIRST_PASS, so an IM
    dose's availability does not change under CYP3A4 induction (FA_MULT = 1) while an oral one's does."""
    mdz = drugs.midazolam()
    assert mdz.with_route("oral").params["MDZ_LIVER.FIRST_PASS"] == 1.0
    for route in ("im", "intranasal", "buccal"):
        assert mdz.with_route(route).params["MDZ_LIVER.FIRST_PASS"] == 0.0
    assert drugs.lorazepam().route == "im" and drugs.lorazepam().params["LZP.F1"] == 0.888
    rif = drugs.rifampicin()
    fa = {}
    for route in ("oral", "im"):
        victim = mdz.with_route(route)
        model = pkpd.compose(*victim.components(), *rif.components(), drugs.cyp3a4(inducers=[rif]))
        res = model.simulate(rif.dose(600, "oral", ii=24, addl=6), [168.0], {**victim.params, **rif.params},
                             method="ode", solver="bdf")
        fa[route] = res["MDZ.FA_MULT"][0]
    assert fa["im"] == 1.0 and fa["oral"] < 0.2


def test_a_drug_is_a_mapping_key_for_competitive_inhibition():
    """``cyp3a4(inhibitors={drug: Ki})`` as documented: a Drug hashes (its fields hold read-only mappings)."""
    from pkpd import drugs

    clarithromycin = drugs.clarithromycin()
    enzyme = drugs.cyp3a4(inhibitors={clarithromycin: 0.5})
    assert dict(enzyme.inhibitors) == {clarithromycin.prefix: 0.5}
    assert hash(clarithromycin) == hash(drugs.clarithromycin())
