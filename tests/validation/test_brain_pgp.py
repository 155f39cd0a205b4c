"""P-glycoprotein at the blood-brain barrier (issue 3, criterion 6; sources in docs/references.md)."""

import numpy as np
import pytest

import pkpd
from pkpd import drugs
from pkpd.models import OneCompartment, compose
from pkpd.physiology import BrainPgp, ImposedSeizure


def _constant(drug, conc, cl, v, cmt=None):
    """Loading bolus C*V plus infusion C*CL: a one-compartment drug at exactly C from t = 0."""
    cmt = cmt or f"{drug}.CENTRAL"
    return pkpd.Bolus(conc * v, cmt=cmt) + pkpd.Infusion(conc * cl * 1e3, rate=conc * cl, cmt=cmt)


@pytest.mark.calibration_check
def test_calibration_check_tariquidar_raises_probe_brain_distribution_about_2_7_fold(validation):
    """Calibration check: the probe's CLPGP 17 L/h [C] was set so that full P-gp inhibition raises Kp,uu 2.7-fold,
    and tariquidar's IC50 0.25 mg/L [C] from the plateau above 1000 ng/mL, both from this PET study; the
    baseline Kp,uu is an independent hand calculation.
    Human PET (PubMed 22166851): tariquidar raises (R)-[11C]verapamil brain VT at most 2.7-fold, with a
    plateau at plasma tariquidar > 1000 ng/mL. Library probe + tariquidar at 1.5 mg/L (1500 ng/mL) held
    constant: the probe's unbound brain/plasma ratio rises 2.7-fold +- 30 %."""
    tqd = drugs.tariquidar()
    probe = drugs.pgp_probe(inhibitors=[tqd])
    model = compose(*probe.components(), OneCompartment(drug="TQD"))
    params = {**probe.params, "TQD.CL": 15.0, "TQD.V": 40.0}
    cl, v = probe.params["VPM.CL"], probe.params["VPM.V"]
    ratios = []
    for c_tqd in (0.0, 1.5):
        dose = _constant("VPM", 0.01, cl, v)
        if c_tqd:
            dose = dose + _constant("TQD", c_tqd, 15.0, 40.0)
        res = model.simulate(dose, [24.0], params, method="ode", rtol=1e-9, atol=1e-13)
        ratios.append(res["VPM_BRAIN.CU"][0] / res["VPM.CU"][0])
    fold = ratios[1] / ratios[0]
    validation.compare("baseline Kp,uu", ratios[0], 10.0 / 27.0, rtol=1e-5, source="hand: CLin / (CLout + CLpgp)",
                       calibration=False)
    validation.within("Kp,uu fold rise with tariquidar 1500 ng/mL", fold, 2.7 * 0.7, 2.7 * 1.3,
                      source="2.7 ± 30 %, human PET, PubMed 22166851")


@pytest.mark.calibration_check
@pytest.mark.parametrize("minutes", [30, 60])
def test_calibration_check_seizure_upregulates_pgp_with_a_delayed_peak_and_recovery(minutes, validation):
    """Calibration check: BrainPgp's seizure-signal defaults (KSIG, KX, KDEG_PGP, SMAX) were calibrated [M] to
    exactly these ranges (pkpd.physiology.transporters).
    After a seizure of >= 30 min, P-gp expression peaks 1.5-2.5-fold within 24-48 h and returns toward
    baseline within a week (rodent data, Seegers 2002 / Bankstahl 2008 / van Vliet [M];
    mechanism glutamate -> NMDA -> COX-2, Bauer 2008 [S])."""
    model = compose(OneCompartment(drug="VPM"), BrainPgp("VPM", clpgp=17.0, seizure_driven=True), ImposedSeizure())
    seizure = ImposedSeizure.episode(minutes)
    times = np.arange(0.0, 24 * 8 + 1, 1.0)
    res = model.simulate(seizure, times, {"VPM.CL": 60.0, "VPM.V": 300.0}, method="ode")
    pgp = res["VPM_BRAIN.PGP"]
    peak = int(np.argmax(pgp))
    validation.within("P-gp expression peak (fold)", pgp[peak], 1.5, 2.5, source="Seegers 2002, Bankstahl 2008 [M]")
    validation.within("time of the P-gp peak (h)", times[peak], 24, 48, source="Seegers 2002, Bankstahl 2008 [M]")
    assert pgp[times == 168][0] - 1 < 0.2 * (pgp[peak] - 1)  # most of the way back after one week
