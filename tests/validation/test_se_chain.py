"""The status-epilepticus chain through the brain (issue 14, "Done when").

Sources: P-gp shares and brain entry, docs/se-chain-sources.md (per drug); futility and toxicity, Lausanne registry
(Epilepsia 2013: benzodiazepine overtreatment and intubation) and Barr 2001 (Anesthesiology: deep-sedation C50);
refractoriness, Novy 2010 (Epilepsia 51:251, 22.6 %), Mayer 2002 (Arch Neurol 59:205, 31 %), Holtkamp 2005
(J Neurol Neurosurg Psychiatry 76:534, 43 %) and Shorvon & Ferlisi 2011 (Brain 134:2802, SRSE about 15 % of
hospital SE); predictions, Treiman 1998 (N Engl J Med 339:792, VA Cooperative). Every cohort has n >= 1000 and a
fixed seed. Which comparisons are calibration checks is said in each test (pkpd/se/validation_targets.toml).
"""

import pytest

from pkpd.models.effects import ModulatorEffect
from pkpd.physiology import DirectEffect, NmdaChannelBlock
from pkpd.se import calibration as cal
from pkpd.se import defaults as SE
from pkpd.se import scenarios
from pkpd.se.guideline import guideline_outcomes
from pkpd.se.targets import load_targets

N = 1000
SUBSTRATES = [name for name, info in scenarios.DRUGS.items() if SE.BRAIN[info["prefix"]]["pgp_share"] > 0]


@pytest.mark.parametrize("drug", sorted(scenarios.DRUGS))
def test_every_se_effect_site_reads_unbound_brain_concentration(drug):
    """No effect component of the SE model reads a plasma concentration or a plasma-driven effect compartment."""
    model = scenarios.se_model((drug,))
    effects = [c for c in model.components if isinstance(c, (ModulatorEffect, DirectEffect, NmdaChannelBlock))]
    assert effects, f"{drug} has no effect component"
    for comp in effects:
        source = getattr(comp, "concentration", None) or comp.source
        assert source.endswith(".CBRAIN_U"), f"{comp!r} reads {source}"


def test_the_substrates_are_the_drugs_with_a_sourced_pgp_share():
    """Midazolam (efflux ratio 1.16), phenytoin (20-30 % lower brain levels where P-gp is overexpressed) and
    ketamine (mouse dual substrate) are the SE drugs with a P-gp share; the others are 0 with a reason."""
    assert sorted(SUBSTRATES) == ["fosphenytoin", "ketamine", "midazolam"]


@pytest.mark.parametrize("drug", SUBSTRATES)
def test_doubling_pgp_lowers_unbound_brain_exposure_by_the_steady_state_identity(drug, validation):
    """At steady state without a seizure, Cu,brain / Cu,plasma = Kp,uu = CLIN / (CLOUT + CLPGP x GENO); doubling
    P-gp (GENO 2, the ABCB1 3435 CC vs TT activity ratio) lowers it by exactly that identity (1e-6)."""
    import pkpd

    info = scenarios.DRUGS[drug]
    pre = info["prefix"]
    model = scenarios.se_model((drug,))
    d = info["make"]()
    cmt = d.routes["iv"]["cmt"]
    rate = {"MDZ": 5.0, "FOS": 5.0, "KET": 20.0}[pre]
    dose = pkpd.Infusion(rate * 1000.0, rate=rate, cmt=cmt)
    ratios = []
    for geno in (1.0, 2.0):
        p = {**scenarios.se_params((drug,)), "SEIZURE.A0": 0.0, "BBB.GENO": geno}
        r = model.simulate(dose, [900.0], p, method="ode", rtol=1e-10, atol=1e-12)
        ratios.append(float(r[f"{pre}_BRAIN.CU"][0]) / float(r[f"{pre}.CU"][0]))
        validation.compare(f"Kp,uu {pre} GENO {geno}", ratios[-1], SE.kpuu(pre, pgp=geno), rtol=1e-6)
    validation.compare(f"Kp,uu ratio {pre}", ratios[1] / ratios[0], SE.kpuu(pre, 2.0) / SE.kpuu(pre, 1.0), rtol=1e-6)


#: where each substrate is given so that its effect decides termination: midazolam as first line, phenytoin as the
#: second line after a failed benzodiazepine (alone, at 30 min), ketamine with midazolam late (the NMDA story)
_PGP_SCENARIO = {"midazolam": dict(drugs=("midazolam",), delays=(15.0,)),
                 "fosphenytoin": dict(drugs=("fosphenytoin",), delays=(30.0,)),
                 "ketamine": dict(drugs=("midazolam", "ketamine"), delays=(30.0,))}


@pytest.mark.parametrize("drug", SUBSTRATES)
def test_more_pgp_lowers_termination_and_tariquidar_restores_it(drug):
    """Seeds: P-gp exports antiseizure drugs, so more P-gp means fewer seizures stopped; a P-gp inhibitor reverses
    it. Tariquidar at 2 x IC50 with doubled expression blocks 2/3 of the doubled activity -> below baseline.
    Midazolam is a weak substrate (share 0.05): doubling P-gp lowers its brain exposure by 4.5 % and termination
    at 15 min by 3 patients in 1000 (83.6 -> 83.3 %)."""
    s = _PGP_SCENARIO[drug]

    def term(**params):
        return float(scenarios.cohort_termination(s["delays"], N, 2024, s["drugs"], params=params).iloc[0])

    base = term()
    doubled = term(**{"BBB.GENO": 2.0})
    rescued = term(**{"BBB.GENO": 2.0, "BBB.INHIBITOR_C": 2 * 0.68})
    assert rescued >= base >= doubled, (drug, base, doubled, rescued)
    assert doubled < base and rescued > doubled, (drug, base, doubled, rescued)


@pytest.fixture(scope="module")
def escalation():
    return {dose: scenarios.cohort_outcomes((5, 60), N, 2024, ("midazolam",), doses=[dose]) for dose in (10, 30)}


def test_late_midazolam_escalation_is_futile_and_toxic(escalation):
    """At 60 min, 30 mg instead of 10 mg IM midazolam raises termination by <= 10 points while respiratory
    depression at least doubles (overtreatment: intubation 45 vs 8 %, Lausanne registry, Epilepsia 2013)."""
    lo, hi = escalation[10].loc[60], escalation[30].loc[60]
    assert hi["terminated"] - lo["terminated"] <= 0.10
    assert hi["respiratory_depression"] >= 2 * lo["respiratory_depression"] > 0


def test_early_escalation_is_not_harmful_on_balance(escalation):
    """At 5 min the same escalation stops at least as many seizures and worsens none (no paradox)."""
    lo, hi = escalation[10].loc[5], escalation[30].loc[5]
    assert hi["terminated"] >= lo["terminated"]
    assert hi["paradoxical"] == lo["paradoxical"] == 0.0


def test_paradoxical_worsening_appears_late_with_default_parameters(escalation):
    """E_GABA above the point where GABA-A excites (F < 0, -43.1 mV with SHUNT 0.3) makes midazolam add to the
    seizure's drive in part of the cohort at 60 min and in none at 5 min."""
    assert escalation[10].loc[60, "paradoxical"] > 0.0
    assert escalation[10].loc[5, "paradoxical"] == 0.0


def test_phenobarbital_is_a_gaba_a_modulator_that_turns_paradoxical_late():
    """Staley 1992 (Neurosci Lett 146:105): with E_GABA above the firing threshold, barbiturates (like
    benzodiazepines) enhance GABA-A *excitation*. Phenobarbital 15 mg/kg acts on the synaptic GABA-A receptors, so
    it stops most seizures at 5 min, few at 60 min, and at 60 min adds to the drive in part of the cohort (in
    none at 5 min) -- as midazolam does (test above) -- and at 60 min it stops fewer than a drug acting outside
    GABA-A (levetiracetam). The direction, early efficacy lost late, is Goodkin 2003's (Epilepsia 44, diazepam in
    rats); 80 % and 30 % are loose margins around it, not values any parameter was set from."""
    model = scenarios.se_model(("phenobarbital",))
    reads = [c.receptor for c in model.components if isinstance(c, ModulatorEffect)]
    assert reads == ["GABAA.SURFACE"]
    pb = scenarios.cohort_outcomes((5.0, 60.0), N, 2024, ("phenobarbital",))
    lev = scenarios.cohort_outcomes((5.0, 60.0), N, 2024, ("levetiracetam",))
    assert pb.loc[5.0, "terminated"] > 0.8 > 0.3 > pb.loc[60.0, "terminated"]
    assert pb.loc[60.0, "paradoxical"] > 0.0 == pb.loc[5.0, "paradoxical"]
    assert pb.loc[60.0, "terminated"] < lev.loc[60.0, "terminated"]


@pytest.fixture(scope="module")
def guideline():
    return guideline_outcomes(n=N, seed=2024)


@pytest.mark.xfail(strict=True, reason="RSE 22.0 % of treated SE (n 1000), just below the 23-43 % of the series: "
                   "with the final calibration more seizures stop on the benzodiazepine or levetiracetam (26.5 % "
                   "with the first fit)")
def test_refractory_status_epilepticus_fraction(guideline, validation):
    """RSE (still seizing after a benzodiazepine and a second-line drug): 23-43 % of treated SE."""
    low, high = {x.id: x for x in load_targets()}["RSE_FRACTION"].value_range
    validation.within("RSE fraction of treated SE", guideline["rse"], low, high)


def test_super_refractory_status_epilepticus_fraction(guideline, validation):
    """SRSE (seizing 24 h into anaesthesia or again on its taper): 10-20 % of treated SE."""
    low, high = {x.id: x for x in load_targets()}["SRSE_FRACTION"].value_range
    validation.within("SRSE fraction of treated SE", guideline["srse"], low, high)


@pytest.fixture(scope="module")
def va_table():
    return cal.predict(trials=(cal.VA_COOPERATIVE,), n=N, seed=2024)


def _miss(reason):
    return pytest.mark.xfail(strict=True, reason=reason)


@pytest.mark.parametrize("arm", [
    pytest.param("phenobarbital 15 mg/kg", marks=_miss(
        "predicted 39.0 % vs 58.2 % (-19 pp, n 1000): a GABA-A modulator, like lorazepam (-17 pp), whose effect "
        "falls as GABA-A turns excitatory at the assumed 30-min median onset-to-treatment")),
    "diazepam 0.15 mg/kg + phenytoin 18 mg/kg",
    pytest.param("lorazepam 0.1 mg/kg", marks=_miss(
        "predicted 47.5 % vs 64.9 % (-17 pp): GABA-A turns excitatory after about 40 min of seizure in the median "
        "patient, and VA patients were treated a median 30 min [A] after onset")),
    "phenytoin 18 mg/kg",
])
def test_va_cooperative_arms_are_predicted(va_table, arm, validation):
    """Independent: no parameter was set from the VA Cooperative trial; within 10 percentage points."""
    row = va_table.set_index("arm").loc[arm]
    validation.compare(f"VA {arm}", row["predicted"], row["observed"], atol=0.10)


@pytest.fixture(scope="module")
def calibration_table():
    return cal.predict(trials=(cal.RAMPART, cal.ESETT), n=N, seed=2024)


_ESETT_MISS = ("the fit leaves ESETT valproate at 54.1 % (+8.05 pp, n 1000), just outside 8 (fosphenytoin -6.7 pp): "
               "one shared second-line weight and slope cannot make phenytoin, which reaches the brain through a "
               "10-min prodrug conversion, as fast as valproate")


@pytest.mark.calibration_check
@pytest.mark.parametrize("arm", [
    pytest.param(a.name, marks=_miss(_ESETT_MISS)) if a.name.startswith("valproate") else a.name
    for t in (cal.RAMPART, cal.ESETT) for a in t.arms])
def test_calibration_check_rampart_and_esett_within_8_points(calibration_table, arm, validation):
    """Calibration check: these arms are calibration targets (fitted)."""
    row = calibration_table.set_index("arm").loc[arm]
    validation.compare(f"{row['trial']} {arm}", row["predicted"], row["observed"], atol=0.08, calibration=True)


@pytest.mark.calibration_check
@pytest.mark.parametrize("arm", list(cal.CESSATION_MIN))
def test_calibration_check_time_to_cessation_within_2_fold(arm):
    """Calibration check: RAMPART's median times from injection to cessation (3.3 / 1.6 min) set K_SEIZURE."""
    t = cal.simulate_arm(cal.RAMPART, arm, n=N, seed=2024, return_detail=True)["median_cessation_min"]
    observed = cal.CESSATION_MIN[arm]
    assert observed / 2 <= t <= observed * 2, (arm, t, observed)


def test_fewer_free_parameters_than_calibration_targets():
    targets = load_targets()
    n_cal = sum(t.kind == "calibration" for t in targets)
    assert set(cal.CALIBRATION_PARAMETERS) == set(cal.FREE_PARAMETERS)
    assert len(cal.CALIBRATION_PARAMETERS) < n_cal


@pytest.fixture(scope="module")
def alldredge_table():
    return cal.predict(trials=(cal.ALLDREDGE,), n=N, seed=2024)


@pytest.mark.parametrize("arm", [
    "lorazepam IV 2 mg",
    pytest.param("diazepam IV 5 mg", marks=_miss(
        "predicted 76.8 % vs 42.6 % (+34 pp): diazepam's EEG threshold (100 ng/mL total, fu 0.015) makes 5 mg IV "
        "nearly saturating in the brain; its fast redistribution does not end the effect before the seizure stops")),
    pytest.param("placebo", marks=_miss(
        "predicted 0 % vs 21.1 %: the model has no spontaneous termination (every untreated virtual seizure "
        "sustains itself by construction, E0 above the least self-sustaining severity)")),
])
def test_alldredge_prehospital_arms_are_predicted(alldredge_table, arm, validation):
    """Independent (Alldredge 2001, N Engl J Med 345:631): SE terminated on arrival at the emergency department,
    paramedic IV lorazepam 2 mg 59.1 %, diazepam 5 mg 42.6 %, placebo 21.1 %; within 10 percentage points."""
    row = alldredge_table.set_index("arm").loc[arm]
    validation.compare(f"Alldredge {arm}", row["predicted"], row["observed"], atol=0.10)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "13 mg (30 % above 10 mg) gives 32.1 % vs 17.4 % respiratory depression at 15 min, 1.84-fold (20 mg: 62 %, "
    "3.6-fold); the registry's overtreated patients were 5.6 times as often intubated (45 vs 8 %)"))
def test_benzodiazepine_overtreatment_at_least_doubles_respiratory_depression():
    """Validation target (Lausanne registry, Epilepsia 2013): overtreatment (> 30 % above the recommended dose)
    -> intubation 45 vs 8 %. Checked as the direction and at least 2-fold, 13 vs 10 mg IM midazolam at 15 min."""
    std = scenarios.cohort_outcomes((15.0,), N, 2024, ("midazolam",), doses=[10.0]).iloc[0]
    over = scenarios.cohort_outcomes((15.0,), N, 2024, ("midazolam",), doses=[13.0]).iloc[0]
    assert over["respiratory_depression"] >= 2 * std["respiratory_depression"] > 0


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "respiratory depression 17.4 % after 10 mg IM midazolam vs 8.8 % after 4 mg IV lorazepam at 15 min: the "
    "deep-sedation C50s (Barr 2001) put lorazepam's peak further below its C50; RAMPART's intubation rates were "
    "equal (14.1 vs 14.4 %), intubation tracking continued seizures as much as dose"))
def test_rampart_arms_have_similar_respiratory_depression():
    """Validation target (RAMPART, Silbergleit 2012): intubation 14.1 vs 14.4 %; within 5 points."""
    mdz = scenarios.cohort_outcomes((15.0,), N, 2024, ("midazolam",)).iloc[0]
    lzp = scenarios.cohort_outcomes((15.0,), N, 2024, ("lorazepam",)).iloc[0]
    assert abs(mdz["respiratory_depression"] - lzp["respiratory_depression"]) <= 0.05
