"""Status epilepticus: seizure balance model, treatment delay and polytherapy (issue 4, criterion 5).

Targets: a first benzodiazepine works in most early SE and fails more often the later
it is given -- IM midazolam controls ~63-73 % of early SE (Trinka 2015 [S]); ~80 % success when started
<= 30 min after onset, < 40 % after 2 h (Lowenstein & Alldredge 1993 [M]); the diazepam dose that stops
seizures at 5 min fails at 60 min, with a decline already at 15 min (Goodkin 2003 [S]); diazepam +
ketamine works at 10-30 min where diazepam alone fails (Zhou 2021 [S]); simultaneous midazolam +
ketamine + valproate beats the same drugs given sequentially (Niquet 2019 [M]; Niquet 2017 [S]).
GABA-A current turns depolarising when chloride loads (E_GABA -72.9 -> -42 mV, chord form [C]).

The SE chain runs through the brain (issue 14): every drug's effect reads its unbound brain ECF concentration.
The cohort tests use n = 1000 for the delay ranking (one batched simulate call per delay) and smaller cohorts
elsewhere to keep the file fast; the seed is fixed, so the fractions are reproducible.
"""

import numpy as np
import pytest

import pkpd
from pkpd.se import scenarios
from pkpd.physiology.seizure import Seizure, terminated

SEED = 2024


@pytest.fixture(scope="module")
def midazolam_by_delay():
    return scenarios.cohort_termination((5, 15, 30, 60, 120), n=1000, seed=SEED)


def test_untreated_status_epilepticus_persists_for_120_min():
    """SE self-sustains without treatment: activity stays ~1 for 120 min in the typical patient and in
    every member of a 200-subject cohort (severity IIV is on the excess E0 - G0 > 0), while receptors
    internalise (Naylor 2005 [S]: 0.53 of surface GABA-A at 60 min) and E_GABA depolarises."""
    model = scenarios.se_model(("midazolam",))
    p = scenarios.se_params(("midazolam",))
    no_drug = pkpd.Bolus(0.0, cmt="MDZ.DEPOT")
    times = np.linspace(0, 2, 25)
    r = model.simulate(no_drug, times, p, method="ode")
    assert np.all(r["SEIZURE.ACTIVITY"] > 0.95)
    assert r["GABAA.SURFACE_A235"][-1] < 0.6 and r["CHLORIDE.E_GABA"][-1] > -45
    df = scenarios.cohort_parameters(("midazolam",), 200, SEED)
    res = model.simulate(no_drug, [0.0, 1.0, 2.0], df, method="ode", states=False)
    act = np.asarray(res["SEIZURE.ACTIVITY"]).reshape(200, 3)
    assert np.all(act > 0.9)


def test_midazolam_im_termination_falls_strictly_with_delay(midazolam_by_delay, validation):
    """Independent of the delay curve (no parameter was set from it; RAMPART's arm was fitted at its own
    timing): 10 mg IM midazolam at 5, 15, 30, 60, 120 min after onset, 1000 virtual patients: terminated fraction
    5 > 15 > 30 > 60 > 120 min; early treatment works in most (>= 63 %, Trinka 2015 [S]), after 2 h in a
    minority (< 40 %, Lowenstein & Alldredge 1993 [M])."""
    f = midazolam_by_delay
    assert f[5] > f[15] > f[30] > f[60] > f[120]
    validation.within("terminated, midazolam 10 mg IM at 5 min", f[5], 0.63, 1.0, source="Trinka 2015 [S]")
    validation.within("terminated, midazolam 10 mg IM at 120 min", f[120], 0.0, 0.4,
                      source="Lowenstein & Alldredge 1993 [M]")


def test_adding_ketamine_raises_termination_late(midazolam_by_delay):
    """Midazolam + ketamine (1.5 mg/kg IV, NMDA channel block, IC50 2 µM [M]) terminates more seizures (by more
    than 2 points of 1000) at 30 and 60 min than midazolam alone in the same virtual patients (Zhou 2021 [S]; Niquet 2017 [S]),
    because surface NMDA receptors rise during SE (Naylor 2013 [S]) while benzodiazepine efficacy falls."""
    both = scenarios.cohort_termination((30, 60), n=1000, seed=SEED, drugs=("midazolam", "ketamine"))
    for delay in (30, 60):
        assert both[delay] > midazolam_by_delay[delay] + 0.02


def test_paradoxical_gabaergic_drive_when_e_gaba_above_threshold():
    """With E_GABA above the firing threshold the GABA-A driving force is reversed: more GABA-ergic drug
    (a 10-fold larger benzodiazepine effect weight) *raises* DRIVE (paradoxical excitation), whereas early
    in the seizure, with E_GABA near -73 mV, it lowers DRIVE. Pure driving-force form (SHUNT = 0)."""
    model = scenarios.se_model(("midazolam",), seizure={"SHUNT": 0.0})
    p = scenarios.se_params(("midazolam",), SEIZURE__SHUNT=0.0)
    g = {"SEIZURE.G_BZD": 10 * model.parameter("SEIZURE.G_BZD").default}
    late = scenarios.treat(60.0, "midazolam", dose=10, route="iv")      # seizure has loaded chloride
    lo = model.simulate(late, [62 / 60], p, method="ode")
    hi = model.simulate(late, [62 / 60], {**p, **g}, method="ode")
    assert lo["CHLORIDE.E_GABA"][0] > -50 and lo["SEIZURE.F_GABA"][0] < 0
    assert lo["BZD.EFFECT"][0] > 0 and lo["SEIZURE.ACTIVITY"][0] > 0.9
    assert hi["SEIZURE.DRIVE"][0] > lo["SEIZURE.DRIVE"][0]          # paradoxical: more drug, more drive
    early = scenarios.treat(0.0, "midazolam", dose=10, route="iv")
    lo = model.simulate(early, [1 / 60], p, method="ode")
    hi = model.simulate(early, [1 / 60], {**p, **g}, method="ode")
    assert lo["CHLORIDE.E_GABA"][0] < -60 and lo["BZD.EFFECT"][0] > 0
    assert hi["SEIZURE.DRIVE"][0] < lo["SEIZURE.DRIVE"][0]          # early: more drug, less drive


def test_paradox_with_default_shunting_needs_stronger_chloride_loading():
    """With the default shunting share, GABA-A inhibition reverses only when E_GABA exceeds
    E_THR + SHUNT (E_THR - E_GABA0); a direct check of the balance at fixed quantities."""
    sz = Seizure()
    p = {par.name: par.default for par in sz.parameters}
    e_rev = p["E_THR"] + p["SHUNT"] * (p["E_THR"] - p["E_GABA0"])
    for e_gaba, sign in ((e_rev - 5.0, -1), (e_rev + 5.0, +1)):
        drives = []
        for bzd in (0.0, 0.001):
            q = {"NMDA.SURFACE": 1.0, "GABAA.SURFACE": 1.0, "CHLORIDE.E_GABA": e_gaba,
                 "BZD.EFFECT": bzd, "VPA.EFFECT": 0.0, "KET.NMDA_BLOCK": 0.0}
            drives.append(float(sz.quantities({"ACTIVITY": np.array(1.0)}, p, q)["DRIVE"]))
        assert np.sign(drives[1] - drives[0]) == sign


@pytest.mark.slow
def test_simultaneous_polytherapy_beats_sequential():
    """Midazolam + ketamine + valproate together at 40 min terminate more seizures than the same drugs at
    40, 50 and 60 min (Niquet 2019 [M]; Niquet 2017 [S] for the triple combination at 40 min)."""
    f = scenarios.polytherapy_termination(n=200, seed=SEED)
    assert f["simultaneous"] > f["sequential"]


@pytest.fixture(scope="module")
def second_line_response():
    return {drug: scenarios.guideline_termination(drug, None, n=300, seed=SEED, benzodiazepine="lorazepam",
                                                  times_min=(20.0, 40.0, 70.0))
            for drug in scenarios.SECOND_LINE}


@pytest.mark.slow
@pytest.mark.calibration_check
@pytest.mark.xfail(strict=True, reason="fosphenytoin stops 37 % of the benzodiazepine failures, valproate 58 % and "
                   "levetiracetam 56 % (n 300): the ESETT calibration miss of fosphenytoin and valproate "
                   "(tests/validation/test_se_chain.py) seen through the guideline sequence")
def test_calibration_check_second_line_drugs_stop_a_similar_share_of_benzodiazepine_failures(second_line_response,
                                                                                             validation):
    """Calibration check: G_2L and N_2L (the shared second-line weight and slope) were fitted to these ESETT
    rates (pkpd.se.calibration.CALIBRATED); a stricter guideline protocol does not make the agreement independent.
    ESETT (Kapur 2019, NEJM [S]): after an adequate benzodiazepine failed, levetiracetam,
    fosphenytoin and valproate each stopped ~46 % (47 / 45 / 46 %), with no difference between them. The
    trial protocol itself is the calibration target (tests/validation/test_se_calibration.py); here the
    guideline sequence -- IV lorazepam 4 mg at 20 min, the second line at 40 min, failures counted over a
    4-h window, a stricter definition than ESETT's -- must give each drug a substantial and similar share."""
    for drug, f in second_line_response.items():
        validation.within(f"{drug}: share of benzodiazepine failures stopped", f["second_line_in_failures"], 0.2, 0.6,
                          source="ESETT, Kapur 2019 [S]")
        assert f["second_line"] > f["benzodiazepine"]
    rates = [f["second_line_in_failures"] for f in second_line_response.values()]
    assert max(rates) - min(rates) < 0.2


def test_guideline_sequence_each_stage_stops_more():
    """Benzodiazepine (15 min) -> valproate (40 min) -> propofol 2 mg/kg + 5 mg/kg/h (70 min): each stage stops
    seizures the earlier ones did not. A fixed 5 mg/kg/h stays below burst suppression (9 mg/L needs about
    15 mg/kg/h), so it controls only part of what remains; the titrated sequence and its RSE/SRSE fractions are
    in tests/validation/test_se_chain.py."""
    f = scenarios.guideline_termination("valproate", "propofol", n=300, seed=SEED)
    assert f["benzodiazepine"] < f["second_line"] < f["anaesthetic"]
    with pytest.raises(pkpd.ModelError, match="second_line must be one of"):
        scenarios.guideline_termination("propofol")


def test_terminated_helper_and_declarations():
    """Terminated = below 0.1 at the end of the window; every Seizure parameter has a unit, bounds and a
    tagged description."""
    assert terminated(np.array([1.0, 0.05, 0.01])) and not terminated(np.array([1.0, 0.05, 0.5]))
    for par in Seizure().parameters:
        assert par.unit and par.lower <= par.default <= par.upper
        assert par.description.startswith(("[M]", "[C]"))
