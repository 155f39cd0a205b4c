"""Scenario files of ``pkpd simulate`` with several drugs (issue 18, item 8): ``drugs``, ``[interactions]``
(CYP3A4 inducers, inactivators and inhibitors, P-gp inhibitors at the blood-brain barrier), ``[genotypes]``
and ``[range]`` (therapeutic ranges, in the summary and shaded on the figure). Bad values are refused by key:
``FILE: KEY: what was expected``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd import drugs
from pkpd.cli import _simulate_command as commands   # the simulate command: its figure and range table
from pkpd.cli.scenario_file import parse_simulate
from pkpd.physiology.genetics import clearance_multiplier_for, phenotype
from test_scenario_limits import fails as _fails   # the same check of one located message (tests/unit is on sys.path)

RIF_MDZ = """
title = "rifampicin and midazolam"
drugs = ["midazolam", "rifampicin"]
times = [168, 168.5, 169, 170, 172, 176]
outputs = ["MDZ.CP", "CYP3A4.LIVER"]
[interactions]
cyp3a4_inducers = ["rifampicin"]
[range]
"MDZ.CP" = [0.004, 0.02]
[[doses]]
drug = "rifampicin"
amount = 600
route = "oral"
ii = 24
addl = 6
[[doses]]
drug = "midazolam"
amount = 2
time = 168
"""


def fails(text: str, key: str, *fragments: str) -> str:
    """Parse ``text`` and assert one ScenarioError naming the file and ``key``, with ``fragments``."""
    return _fails(parse_simulate, text, key, *fragments)


# -- several drugs and CYP3A4 -----------------------------------------------------------------------
def test_rifampicin_midazolam_is_the_python_model():
    sc = parse_simulate(RIF_MDZ, "s.toml")
    model, params, regimen, _ = sc.regimens["regimen"]
    got = model.simulate(regimen, sc.times_h, params)

    mdz, rif = drugs.midazolam(), drugs.rifampicin().with_route("oral")
    ref_model = pkpd.compose(*mdz.components(), *rif.components(), drugs.cyp3a4(inducers=[rif]))
    ref = ref_model.simulate(rif.dose(600, "oral", ii=24, addl=6) + mdz.dose(2, "iv", time=168), sc.times_h,
                             {**mdz.params, **rif.params})
    np.testing.assert_allclose(got["MDZ.CP"], ref["MDZ.CP"], rtol=1e-10, atol=0)
    assert got["CYP3A4.LIVER"][0] > 3                    # induced
    assert [d.name for d in sc.drugs] == ["midazolam", "rifampicin"]
    assert sc.interactions == {"cyp3a4_inducers": ("rifampicin",)}


def test_rifampicin_midazolam_file_runs(tmp_path, monkeypatch):
    path = tmp_path / "rif.toml"
    path.write_text(RIF_MDZ, encoding="utf-8")
    figures = []
    draw = commands._simulate_figure
    monkeypatch.setattr(commands, "_simulate_figure", lambda *a, **k: figures.append(draw(*a, **k)) or figures[-1])
    commands.run_simulate(path, tmp_path / "out")

    mdz, rif = drugs.midazolam(), drugs.rifampicin().with_route("oral")
    ref = pkpd.compose(*mdz.components(), *rif.components(), drugs.cyp3a4(inducers=[rif])).simulate(
        rif.dose(600, "oral", ii=24, addl=6) + mdz.dose(2, "iv", time=168), [168, 168.5, 169, 170, 172, 176],
        {**mdz.params, **rif.params})
    table = pd.read_csv(tmp_path / "out" / "timecourses.csv")
    np.testing.assert_allclose(table["MDZ.CP"], ref["MDZ.CP"], rtol=1e-10, atol=0)

    # the range in the summary: bounds and the time below / in / above it (percent of the output span)
    summary = pd.read_csv(tmp_path / "out" / "summary.csv").set_index("output")
    row = summary.loc["MDZ.CP"]
    assert (row["RANGE_LO"], row["RANGE_HI"]) == (0.004, 0.02)
    expected = commands._time_in_range(np.array([168, 168.5, 169, 170, 172, 176.0]), ref["MDZ.CP"], 0.004, 0.02)
    for k, v in expected.items():
        assert row[k] == pytest.approx(v, abs=1e-9)
    assert row["BELOW_RANGE"] + row["IN_RANGE"] + row["ABOVE_RANGE"] == pytest.approx(100.0)
    assert 0 < row["IN_RANGE"] < 100
    assert math.isnan(summary.loc["CYP3A4.LIVER", "RANGE_LO"])
    md = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "| regimen | output | n | CMAX |" in md and "IN_RANGE" in md and "MDZ.CP: 0.004-0.02" in md
    assert "CYP3A4 inducers: rifampicin" in md

    # the band on the figure: a shaded span from lo to hi on the MDZ.CP panel only
    (fig,) = figures
    axes = fig.axes
    bands = [[p for p in ax.patches if p.get_gid() == "range"] for ax in axes]
    assert [len(b) for b in bands] == [1, 0]
    band = bands[0][0]
    to_data = band.get_transform() - axes[0].transData          # patch coordinates -> data coordinates
    y = to_data.transform(band.get_path().vertices)[:, 1]
    assert min(y) == pytest.approx(0.004) and max(y) == pytest.approx(0.02)
    assert "range 0.004-0.02" in [t.get_text() for t in axes[0].get_legend().get_texts()]


def test_time_in_range_interpolates_linearly():
    t = np.array([0.0, 1.0, 2.0])
    got = commands._time_in_range(t, np.array([0.0, 2.0, 0.0]), 0.5, 1.5)
    assert got == pytest.approx({"BELOW_RANGE": 25.0, "IN_RANGE": 50.0, "ABOVE_RANGE": 25.0})
    assert commands._time_in_range(t, np.array([1.0, 1.0, 1.0]), 0.5, 1.5)["IN_RANGE"] == 100.0


def test_inactivator_and_competitive_inhibitor_raise_midazolam():
    base = RIF_MDZ.replace('"rifampicin"]', '"clarithromycin"]').replace("rifampicin", "clarithromycin")
    base = base.replace(', "CYP3A4.LIVER"]', "]").replace("amount = 600", "amount = 500").replace("ii = 24\naddl = 6", "ii = 12\naddl = 13")
    inact = parse_simulate(base.replace("cyp3a4_inducers", "cyp3a4_inactivators"), "s.toml")
    alone = parse_simulate(base.replace("cyp3a4_inducers = [\"clarithromycin\"]", ""), "s.toml")
    comp = parse_simulate(base.replace('cyp3a4_inducers = ["clarithromycin"]', "cyp3a4_inhibitors = "
                                       "{clarithromycin = 0.1}"), "s.toml")
    auc = {}
    for name, sc in (("inact", inact), ("alone", alone), ("comp", comp)):
        m, p, r, _ = sc.regimens["regimen"]
        auc[name] = np.trapezoid(m.simulate(r, sc.times_h, p)["MDZ.CP"], sc.times_h)
    assert auc["inact"] > 1.5 * auc["alone"] and auc["comp"] > auc["alone"]
    assert comp.model.parameter("CYP3A4.KIC_CLA").default == 0.1


# -- genotypes ------------------------------------------------------------------------------------
def _clobazam(diplotype: str):
    text = ('drug = "clobazam"\ntimes = [0, 1, 2]\noutputs = ["NCLB.CP", "NCLB.CL_MULT"]\n'
            f'[genotypes.clobazam]\nCYP2C19 = "{diplotype}"\n[[doses]]\namount = 10\ncmt = "NCLB.CENTRAL"\n')
    return parse_simulate(text, "s.toml")


@pytest.mark.parametrize("diplotype", ["*1/*1", "*1/*2", "*2/*2", "*17/*17"])
def test_genotype_changes_clearance_by_the_library_multiplier(diplotype):
    sc = _clobazam(diplotype)
    model, p, regimen, _ = sc.regimens["regimen"]
    assert p["NCLB_LIVER.ACT_CYP2C19"] == phenotype("CYP2C19", diplotype).activity
    assert sc.genotypes == {"clobazam": {"CYP2C19": diplotype}}
    res = model.simulate(regimen, sc.times_h, p)
    # intrinsic clearance times the library's multiplier, through the well-stirred liver
    mult = clearance_multiplier_for("CYP2C19", diplotype, p["NCLB_LIVER.FM_CYP2C19"])
    qh, fub, clh, clr = (p[f"NCLB_LIVER.{k}"] for k in ("QH", "FUB", "CLH", "CLR"))
    clint = qh * clh / (fub * (qh - clh)) * mult
    expected = (qh * fub * clint / (qh + fub * clint) + clr) / (clh + clr)
    np.testing.assert_allclose(res["NCLB.CL_MULT"], expected, rtol=1e-12)
    # the metabolite given directly decays at the rate of its clearance
    k_obs = math.log(res["NCLB.CP"][1] / res["NCLB.CP"][2])
    assert k_obs == pytest.approx(p["NCLB.CL"] * expected / p["NCLB.V"], rel=1e-4)


def test_genotype_with_several_drugs_and_abcb1():
    sc = parse_simulate('drugs = ["pgp_probe"]\ntimes = [0, 1]\n[genotypes.pgp_probe]\nABCB1 = "TT"\n'
                        '[[doses]]\namount = 1\n', "s.toml")
    assert sc.regimens["regimen"][1]["VPM_BRAIN.PGP_GENO"] == phenotype("ABCB1", "TT").activity


# -- P-gp at the blood-brain barrier --------------------------------------------------------------
def test_pgp_inhibitor_raises_the_unbound_brain_concentration():
    text = ('drugs = ["pgp_probe", "tariquidar"]\ntimes = [0, 24, 25, 26]\noutputs = ["VPM_BRAIN.CU", "VPM.CU"]\n'
            '{interactions}[[doses]]\ndrug = "pgp_probe"\namount = 3\n[[doses]]\ndrug = "pgp_probe"\n'
            'amount = 26\nduration = 26\n[[doses]]\ndrug = "tariquidar"\namount = 560\ntime = 24\nduration = 0.5\n')
    runs = {}
    for name, inter in (("with", '[interactions]\npgp_inhibitors = ["tariquidar"]\n'), ("without", "")):
        sc = parse_simulate(text.replace("{interactions}", inter), "s.toml")
        m, p, r, _ = sc.regimens["regimen"]
        runs[name] = m.simulate(r, sc.times_h, p)
    w, wo = runs["with"], runs["without"]
    np.testing.assert_allclose(w["VPM_BRAIN.CU"][:2], wo["VPM_BRAIN.CU"][:2], rtol=1e-6)     # before tariquidar
    assert w["VPM_BRAIN.CU"][-1] > 2 * wo["VPM_BRAIN.CU"][-1]
    assert w["VPM.CU"][-1] == pytest.approx(wo["VPM.CU"][-1], rel=0.05)


# -- the single-drug format is unchanged ----------------------------------------------------------
def test_single_drug_without_new_keys_is_unchanged():
    sc = parse_simulate('drug = "midazolam"\ntimes = [0, 1]\noutputs = ["CP"]\n[[doses]]\namount = 5\n', "s.toml")
    assert sc.drug.name == "midazolam" and sc.outputs == ("MDZ.CP",) and sc.ranges == {}
    assert [d.name for d in sc.drugs] == ["midazolam"] and sc.label == "midazolam"


# -- bad input ------------------------------------------------------------------------------------
BASE = 'drugs = ["midazolam", "rifampicin"]\ntimes = [0, 1]\n'
DOSE = '[[doses]]\ndrug = "midazolam"\namount = 2\n'


@pytest.mark.parametrize("text, key, fragments", [
    (BASE.replace("rifampicin", "rifampicine") + DOSE, "drugs[1]", ("unknown drug 'rifampicine'", "known drugs:")),
    ('drugs = "midazolam"\ntimes = [0, 1]\n' + DOSE, "drugs", ("expected a non-empty array",)),
    (BASE.replace('"]', '", "midazolam"]') + DOSE, "drugs[2]", ("listed twice",)),
    ('drug = "midazolam"\n' + BASE + DOSE, "drug", ("exactly one of model", "drugs")),
    (BASE + '[interactions]\ncyp3a4_inducers = ["carbamazepine"]\n' + DOSE, "interactions.cyp3a4_inducers[0]",
     ("'carbamazepine' is not among the drugs", "midazolam, rifampicin")),
    (BASE + '[interactions]\ncyp3a4_inducers = ["midazolam"]\n' + DOSE, "interactions.cyp3a4_inducers[0]",
     ("no CYP3A4 induction", "able among the drugs: rifampicin")),
    (BASE + '[interactions]\ncyp3a4_inducers = "rifampicin"\n' + DOSE, "interactions.cyp3a4_inducers",
     ("expected an array of drug names", "got 'rifampicin'")),
    (BASE + '[interactions]\ncyp3a4_inhibitors = {rifampicin = -1}\n' + DOSE,
     "interactions.cyp3a4_inhibitors.rifampicin", ("expected a Ki > 0 mg/L, got -1",)),
    (BASE + '[interactions]\ninducers = ["rifampicin"]\n' + DOSE, "interactions.inducers",
     ("unknown key in [interactions]", "cyp3a4_inducers")),
    (BASE + '[interactions]\npgp_inhibitors = ["rifampicin"]\n' + DOSE, "interactions.pgp_inhibitors[0]",
     ("no P-gp inhibition",)),
    ('drugs = ["midazolam", "tariquidar"]\ntimes = [0, 1]\n[interactions]\npgp_inhibitors = ["tariquidar"]\n'
     + DOSE, "interactions.pgp_inhibitors", ("no drug of the scenario has a brain compartment", "pgp_probe")),
    (BASE + '[genotypes.midazolam]\nCYP2C19 = "*2/*2"\n' + DOSE, "genotypes.midazolam.CYP2C19",
     ("midazolam has no genotype-dependent CYP2C19", "CYP3A4")),
    (BASE + '[genotypes.midazolam]\nCYP9Z9 = "*1/*1"\n' + DOSE, "genotypes.midazolam.CYP9Z9", ("unknown gene",)),
    (BASE + '[genotypes.midazolam]\nCYP3A4 = "*99/*1"\n' + DOSE, "genotypes.midazolam.CYP3A4", ("*99",)),
    (BASE + '[genotypes.midazolam]\nCYP3A4 = 2\n' + DOSE, "genotypes.midazolam.CYP3A4",
     ("expected a non-empty string", "got 2")),
    (BASE + '[genotypes.diazepam]\nCYP2C19 = "*1/*1"\n' + DOSE, "genotypes.diazepam", ("not among the drugs",)),
    (BASE + '[genotypes]\nmidazolam = "*1/*1"\n' + DOSE, "genotypes.midazolam",
     ("expected a table of gene = diplotype",)),
    ('model = "one_compartment"\ntimes = [0, 1]\n[genotypes.x]\nCYP2C19 = "*1/*1"\n[[doses]]\namount = 1\n',
     "genotypes", ("only with drug or drugs",)),
    (BASE + '[range]\n"MDZ.CP" = [0.2, 0.04]\n' + DOSE, 'range."MDZ.CP"',
     ("lower < upper", "got [0.2, 0.04]")),
    (BASE + '[range]\n"MDZ.CP" = [0.1, 0.1]\n' + DOSE, 'range."MDZ.CP"', ("lower < upper",)),
    (BASE + '[range]\n"MDZ.CP" = [0.1]\n' + DOSE, 'range."MDZ.CP"', ("expected [lower, upper]",)),
    (BASE + '[range]\n"MDZ.CP" = [0.1, "x"]\n' + DOSE, 'range."MDZ.CP"[1]', ("expected a finite number",)),
    (BASE + '[range]\n"RIF.CP" = [0.1, 1]\n' + DOSE, 'range."RIF.CP"', ("not among the outputs written",)),
    (BASE + '[range]\n"XX.CP" = [0.1, 1]\n' + DOSE, 'range."XX.CP"', ("unknown output 'XX.CP'",)),
    (BASE + '[[doses]]\namount = 2\n', "doses[0].drug", ("missing: which drug", "midazolam, rifampicin")),
    (BASE + '[[doses]]\ndrug = "lorazepam"\namount = 2\n', "doses[0].drug", ("not among the drugs",)),
    (BASE + '[[doses]]\ndrug = "rifampicin"\namount = 2\nroute = "im"\n', "doses[0].route",
     ("rifampicin has no route 'im'",)),
])
def test_bad_input_is_refused_by_key(text, key, fragments):
    fails(text, key, *fragments)


def test_range_needs_a_known_output_for_a_single_drug():
    fails('drug = "midazolam"\ntimes = [0, 1]\n[range]\nCP = [0.1, 0.05]\n[[doses]]\namount = 2\n', "range.CP",
          "lower < upper")
    sc = parse_simulate('drug = "midazolam"\ntimes = [0, 1]\n[range]\nCP = [0.05, 0.1]\n[[doses]]\namount = 2\n',
                        "s.toml")
    assert sc.ranges == {"MDZ.CP": (0.05, 0.1)}


def test_autoinduction_of_a_single_drug():
    text = ('drug = "carbamazepine"\ntimes = [0, 96, 336]\noutputs = ["CP"]\n{inter}[[doses]]\namount = 200\n'
            'route = "oral"\nii = 12\naddl = 28\n')
    runs = {}
    for name, inter in (("auto", '[interactions]\ncyp3a4_inducers = ["carbamazepine"]\n'), ("none", "")):
        sc = parse_simulate(text.replace("{inter}", inter), "s.toml")
        m, p, r, _ = sc.regimens["regimen"]
        runs[name] = m.simulate(r, sc.times_h, p)["CBZ.CP"]
    assert sc.drug.name == "carbamazepine"
    assert runs["auto"][-1] < 0.9 * runs["none"][-1]
