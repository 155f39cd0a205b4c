"""Write the event-semantics conformance cases: one NONMEM-style CSV per case and the index ``cases.toml``.

Run from anywhere::

    python tests/validation/events/derive_expected.py

Each case lists its records together with the hand formula of the expected central concentration CP
(mg/L) at the records that are checked. A formula is a plain arithmetic expression with numbers and
``exp`` only (no pkpd, no helper functions), so the text written into ``cases.toml`` is exactly what is
evaluated here and a reader can check it with a pocket calculator. The formulas use

* IV bolus ``D`` at ``t0`` (1-compartment):  ``C = D/V * exp(-k (t - t0))`` with ``k = CL/V``;
* zero-order infusion at rate ``R`` for ``T`` h:  during ``C = R/CL * (1 - exp(-k s))``, after
  ``C = R/CL * (1 - exp(-k T)) * exp(-k (s - T))`` (``s`` = time since the start);
* first-order absorption (Bateman):  ``C = F D KA / (V (KA - k)) * (exp(-k s) - exp(-KA s))``;
* superposition over doses, and the geometric series ``sum_{j>=0} exp(-k (s + j II)) = exp(-k s)/(1 - exp(-k II))``
  for steady state (a steady state at phase ``s`` is the sum over the copies given ``s, s + II, s + 2 II, ...`` ago).

Semantics assumed (NONMEM/PREDPP): the prediction at a dose record includes that dose; records at equal
times act in record order; implied doses (ADDL copies, lagged arrivals) at the time of a record come after
it; F scales the amount (an infusion given by RATE keeps its rate and changes its duration); RATE=-1 takes
the rate from R<k>, RATE=-2 the duration from D<k>; SS=1 resets and puts the system at steady state (own
dose included); SS=2 adds the steady state to the current state; EVID 2 is prediction only; EVID 3 resets
(amounts to zero, infusions stop, pending ADDL copies cancelled); EVID 4 resets then doses; TIME going back
on a reset record starts a new episode.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent

IV = "OneCompartment"
ORAL = "OneCompartmentOral"
P_IV = {"CL": 5.0, "V": 50.0}  # k = CL/V = 0.1 /h
P_ORAL = {"CL": 5.0, "V": 50.0, "KA": 1.0, "F1": 1.0, "ALAG1": 0.0}  # k = 0.1 /h, KA = 1 /h

COLUMNS = ("ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS", "EXPECTED")

PRE_IV = "1-compartment IV: k = CL/V = 5/50 = 0.1 /h; bolus D: C = D/V*exp(-k*s); infusion R for T h: C = R/CL*(1-exp(-k*s)) while s <= T, R/CL*(1-exp(-k*T))*exp(-k*(s-T)) after."
PRE_ORAL = "1-compartment oral: k = CL/V = 0.1 /h, KA = 1 /h; Bateman for dose D into DEPOT: C = F*D*KA/(V*(KA-k))*(exp(-k*s)-exp(-KA*s)) = F*D*1/(50*(1-0.1))*(exp(-0.1*s)-exp(-1*s)); s = time since arrival."


# ------------------------------------------------------------------------------------------------
# record builders: `cp` is the hand formula (string) of the expected CP at the record, None = not checked
# ------------------------------------------------------------------------------------------------
def rec(time, evid=0, amt=0, rate=0, cmt=0, ii=0, addl=0, ss=0, cp=None, id=1):
    return {"ID": id, "TIME": time, "EVID": evid, "AMT": amt, "RATE": rate, "CMT": cmt, "II": ii, "ADDL": addl,
            "SS": ss, "cp": cp}


def obs(time, cp=None, id=1):
    return rec(time, 0, cp=cp, id=id)


def other(time, cp=None, id=1):
    return rec(time, 2, cp=cp, id=id)


def reset(time, cp=None, id=1):
    return rec(time, 3, cp=cp, id=id)


def dose(time, amt, cmt=1, rate=0, ii=0, addl=0, ss=0, evid=1, cp=None, id=1):
    return rec(time, evid, amt, rate, cmt, ii, addl, ss, cp=cp, id=id)


def bateman(F, D, s):
    """Text of the Bateman formula (k = 0.1, KA = 1, V = 50) at time s after arrival."""
    return f"{F}*{D}*1/(50*(1-0.1))*(exp(-0.1*{s})-exp(-1*{s}))"


def bateman_ss(F, D, s, ii):
    """Text of the steady-state Bateman formula at phase s (geometric series over both exponentials)."""
    return (f"{F}*{D}*1/(50*(1-0.1))*(exp(-0.1*{s})/(1-exp(-0.1*{ii}))"
            f"-exp(-1*{s})/(1-exp(-1*{ii})))")


# ------------------------------------------------------------------------------------------------
# the cases
# ------------------------------------------------------------------------------------------------
CASES = [
    dict(
        name="iv_bolus", model=IV, params=P_IV,
        description="A single IV bolus of 100 mg into CENTRAL at time 0, observed at the dose record (the "
                    "prediction includes the dose) and at 1, 6 and 24 h (an EVID 2 record at 2 h is not checked).",
        derivation=PRE_IV + " C(t) = 100/50*exp(-0.1*t).",
        records=[
            dose(0, 100, cp="100/50"),
            obs(1, "100/50*exp(-0.1*1)"),
            other(2),  # an EVID 2 record that is not checked (EXPECTED blank)
            obs(6, "100/50*exp(-0.1*6)"),
            obs(24, "100/50*exp(-0.1*24)"),
        ],
    ),
    dict(
        name="iv_two_boluses", model=IV, params=P_IV,
        description="Two IV boluses (100 mg at 0 h, 50 mg at 6 h) superpose: each decays independently with "
                    "k = 0.1 /h and the concentrations add.",
        derivation=PRE_IV + " C(t) = 100/50*exp(-0.1*t) + [t >= 6] 50/50*exp(-0.1*(t-6)).",
        records=[
            dose(0, 100, cp="100/50"),
            obs(4, "100/50*exp(-0.1*4)"),
            dose(6, 50, cp="100/50*exp(-0.1*6) + 50/50"),
            obs(10, "100/50*exp(-0.1*10) + 50/50*exp(-0.1*(10-6))"),
        ],
    ),
    dict(
        name="infusion_rate", model=IV, params=P_IV,
        description="A zero-order infusion of 100 mg at RATE 20 mg/h (duration 100/20 = 5 h) from time 0, "
                    "observed during the infusion, at its end and after it.",
        derivation=PRE_IV + " R = 20 mg/h, T = 5 h, R/CL = 20/5 = 4 mg/L.",
        records=[
            dose(0, 100, rate=20, cp="0"),
            obs(2, "20/5*(1-exp(-0.1*2))"),
            obs(5, "20/5*(1-exp(-0.1*5))"),
            obs(8, "20/5*(1-exp(-0.1*5))*exp(-0.1*(8-5))"),
        ],
    ),
    dict(
        name="infusion_rate_m2_d1", model=IV, params={**P_IV, "D1": 2.0},
        description="RATE=-2: the infusion duration is the modelled parameter D1 = 2 h, so 100 mg run at "
                    "100/2 = 50 mg/h from 0 to 2 h.",
        derivation=PRE_IV + " R = AMT/D1 = 100/2 = 50 mg/h, T = 2 h, R/CL = 50/5 = 10 mg/L.",
        records=[
            dose(0, 100, rate=-2, cp="0"),
            obs(1, "100/2/5*(1-exp(-0.1*1))"),
            obs(2, "100/2/5*(1-exp(-0.1*2))"),
            obs(6, "100/2/5*(1-exp(-0.1*2))*exp(-0.1*(6-2))"),
        ],
    ),
    dict(
        name="infusion_rate_m1_r1", model=IV, params={**P_IV, "R1": 25.0},
        description="RATE=-1: the infusion rate is the modelled parameter R1 = 25 mg/h, so 100 mg run for "
                    "100/25 = 4 h.",
        derivation=PRE_IV + " R = R1 = 25 mg/h, T = AMT/R1 = 4 h, R/CL = 25/5 = 5 mg/L.",
        records=[
            dose(0, 100, rate=-1, cp="0"),
            obs(2, "25/5*(1-exp(-0.1*2))"),
            obs(4, "25/5*(1-exp(-0.1*4))"),
            obs(10, "25/5*(1-exp(-0.1*4))*exp(-0.1*(10-4))"),
        ],
    ),
    dict(
        name="infusion_f1_changes_duration", model=IV, params={**P_IV, "F1": 0.5},
        description="F1 = 0.5 on an infusion given by RATE 20 mg/h: the amount becomes 0.5*100 = 50 mg and "
                    "runs at the stated rate, so the duration shrinks from 5 h to 2.5 h (the rate is not "
                    "scaled).",
        derivation=PRE_IV + " R = 20 mg/h (unchanged), T = F1*AMT/R = 0.5*100/20 = 2.5 h, R/CL = 4 mg/L.",
        records=[
            dose(0, 100, rate=20, cp="0"),
            obs(2, "20/5*(1-exp(-0.1*2))"),
            obs(2.5, "20/5*(1-exp(-0.1*2.5))"),
            obs(5, "20/5*(1-exp(-0.1*2.5))*exp(-0.1*(5-2.5))"),
        ],
    ),
    dict(
        name="infusion_m1_r1_f1", model=IV, params={**P_IV, "R1": 25.0, "F1": 0.5},
        description="RATE=-1 with R1 = 25 mg/h and F1 = 0.5: 50 mg are infused at 25 mg/h, duration "
                    "F1*AMT/R1 = 2 h.",
        derivation=PRE_IV + " R = 25 mg/h, T = 0.5*100/25 = 2 h, R/CL = 5 mg/L.",
        records=[
            dose(0, 100, rate=-1, cp="0"),
            obs(1, "25/5*(1-exp(-0.1*1))"),
            obs(2, "25/5*(1-exp(-0.1*2))"),
            obs(6, "25/5*(1-exp(-0.1*2))*exp(-0.1*(6-2))"),
        ],
    ),
    dict(
        name="infusion_m2_d1_f1", model=IV, params={**P_IV, "D1": 4.0, "F1": 0.5},
        description="RATE=-2 with D1 = 4 h and F1 = 0.5: 50 mg are infused over the modelled 4 h, at "
                    "0.5*100/4 = 12.5 mg/h.",
        derivation=PRE_IV + " R = F1*AMT/D1 = 12.5 mg/h, T = 4 h, R/CL = 12.5/5 = 2.5 mg/L.",
        records=[
            dose(0, 100, rate=-2, cp="0"),
            obs(2, "0.5*100/4/5*(1-exp(-0.1*2))"),
            obs(4, "0.5*100/4/5*(1-exp(-0.1*4))"),
            obs(10, "0.5*100/4/5*(1-exp(-0.1*4))*exp(-0.1*(10-4))"),
        ],
    ),
    dict(
        name="iv_bolus_f1", model=IV, params={**P_IV, "F1": 0.6},
        description="F1 = 0.6 scales an IV bolus of 100 mg to 60 mg.",
        derivation=PRE_IV + " C(t) = 0.6*100/50*exp(-0.1*t).",
        records=[
            dose(0, 100, cp="0.6*100/50"),
            obs(5, "0.6*100/50*exp(-0.1*5)"),
        ],
    ),
    dict(
        name="oral_bateman", model=ORAL, params=P_ORAL,
        description="A single oral dose of 100 mg into DEPOT (CMT 1) at time 0; the central concentration "
                    "follows the Bateman function (0 at the dose record, since absorption has not started).",
        derivation=PRE_ORAL + " F = 1, D = 100.",
        records=[
            dose(0, 100, cmt=1, cp="0"),
            obs(0.5, bateman(1, 100, 0.5)),
            obs(1, bateman(1, 100, 1)),
            obs(2, bateman(1, 100, 2)),
            obs(12, bateman(1, 100, 12)),
        ],
    ),
    dict(
        name="oral_f1", model=ORAL, params={**P_ORAL, "F1": 0.7},
        description="Oral dose of 100 mg with bioavailability F1 = 0.7: the Bateman curve is scaled by 0.7.",
        derivation=PRE_ORAL + " F = 0.7, D = 100.",
        records=[
            dose(0, 100, cmt=1, cp="0"),
            obs(1, bateman(0.7, 100, 1)),
            obs(6, bateman(0.7, 100, 6)),
        ],
    ),
    dict(
        name="oral_alag1", model=ORAL, params={**P_ORAL, "ALAG1": 0.5},
        description="Oral dose of 100 mg with lag time ALAG1 = 0.5 h: nothing reaches the body before 0.5 h "
                    "(observations at 0.25 h and exactly at 0.5 h are 0), then the Bateman curve shifted by "
                    "0.5 h.",
        derivation=PRE_ORAL + " F = 1, D = 100, s = t - 0.5.",
        records=[
            dose(0, 100, cmt=1, cp="0"),
            obs(0.25, "0"),
            obs(0.5, "0"),
            obs(1, bateman(1, 100, "(1-0.5)")),
            obs(4, bateman(1, 100, "(4-0.5)")),
        ],
    ),
    dict(
        name="iv_bolus_alag1_arrival_is_implied", model=IV, params={**P_IV, "ALAG1": 2.0},
        description="IV bolus of 100 mg with ALAG1 = 2 h. The lagged arrival at 2 h is an implied event, so "
                    "an observation record exactly at 2 h is before it (0); at 3 h one hour of decay.",
        derivation=PRE_IV + " C(t) = 0 for t <= 2 (record at 2 h first), 100/50*exp(-0.1*(t-2)) after.",
        records=[
            dose(0, 100, cp="0"),
            obs(1, "0"),
            obs(2, "0"),
            obs(3, "100/50*exp(-0.1*(3-2))"),
        ],
    ),
    dict(
        name="infusion_alag1", model=IV, params={**P_IV, "ALAG1": 1.0},
        description="Infusion of 100 mg at RATE 50 mg/h with ALAG1 = 1 h: the infusion runs from 1 h to 3 h.",
        derivation=PRE_IV + " R = 50 mg/h, T = 2 h, R/CL = 10 mg/L, s = t - 1.",
        records=[
            dose(0, 100, rate=50, cp="0"),
            obs(0.5, "0"),
            obs(2, "50/5*(1-exp(-0.1*(2-1)))"),
            obs(3, "50/5*(1-exp(-0.1*2))"),
            obs(5, "50/5*(1-exp(-0.1*2))*exp(-0.1*(5-3))"),
        ],
    ),
    dict(
        name="addl_bolus", model=IV, params=P_IV,
        description="100 mg IV every 12 h given by one record with II = 12, ADDL = 3 (doses at 0, 12, 24, "
                    "36 h); observations between doses and after the last one.",
        derivation=PRE_IV + " C(t) = sum over doses at 0, 12, 24, 36 h given before t of 100/50*exp(-0.1*(t - t_dose)).",
        records=[
            dose(0, 100, ii=12, addl=3, cp="100/50"),
            obs(6, "100/50*exp(-0.1*6)"),
            obs(18, "100/50*(exp(-0.1*18)+exp(-0.1*(18-12)))"),
            obs(42, "100/50*(exp(-0.1*42)+exp(-0.1*(42-12))+exp(-0.1*(42-24))+exp(-0.1*(42-36)))"),
            obs(60, "100/50*(exp(-0.1*60)+exp(-0.1*(60-12))+exp(-0.1*(60-24))+exp(-0.1*(60-36)))"),
        ],
    ),
    dict(
        name="addl_obs_at_additional_dose_time", model=IV, params=P_IV,
        description="100 mg IV with II = 12, ADDL = 2 (doses at 0, 12, 24 h). Records exactly at 12 h (EVID 0) "
                    "and 24 h (EVID 2) come before the implied additional doses at those times, so they see "
                    "the trough; at 24.5 h all three doses are in; at 36 h there is no fourth dose.",
        derivation=PRE_IV + " Pre-dose at 12 h: only the 0 h dose; at 24 h: the 0 and 12 h doses.",
        records=[
            dose(0, 100, ii=12, addl=2, cp="100/50"),
            obs(12, "100/50*exp(-0.1*12)"),
            other(24, "100/50*(exp(-0.1*24)+exp(-0.1*(24-12)))"),
            obs(24.5, "100/50*(exp(-0.1*24.5)+exp(-0.1*(24.5-12))+exp(-0.1*(24.5-24)))"),
            obs(36, "100/50*(exp(-0.1*36)+exp(-0.1*(36-12))+exp(-0.1*(36-24)))"),
        ],
    ),
    dict(
        name="addl_infusion", model=IV, params=P_IV,
        description="Infusion of 100 mg at 50 mg/h (2 h) repeated every 12 h, II = 12, ADDL = 2 (starts at 0, "
                    "12, 24 h).",
        derivation=PRE_IV + " R/CL = 50/5 = 10 mg/L, T = 2 h; superposition of the three infusions.",
        records=[
            dose(0, 100, rate=50, ii=12, addl=2, cp="0"),
            obs(1, "50/5*(1-exp(-0.1*1))"),
            obs(13, "50/5*(1-exp(-0.1*2))*exp(-0.1*(13-2)) + 50/5*(1-exp(-0.1*(13-12)))"),
            obs(30, "50/5*(1-exp(-0.1*2))*(exp(-0.1*(30-2))+exp(-0.1*(30-14))+exp(-0.1*(30-26)))"),
        ],
    ),
    dict(
        name="addl_alag1", model=IV, params={**P_IV, "ALAG1": 1.0},
        description="100 mg IV with ALAG1 = 1 h, II = 12, ADDL = 1: arrivals at 1 h and 13 h. The record at "
                    "13 h is before the (implied) lagged arrival of the additional dose.",
        derivation=PRE_IV + " Arrivals at 1 and 13 h.",
        records=[
            dose(0, 100, ii=12, addl=1, cp="0"),
            obs(12, "100/50*exp(-0.1*(12-1))"),
            obs(13, "100/50*exp(-0.1*(13-1))"),
            obs(14, "100/50*(exp(-0.1*(14-1))+exp(-0.1*(14-13)))"),
        ],
    ),
    dict(
        name="ss1_bolus_peak_trough", model=IV, params=P_IV,
        description="SS=1 bolus of 100 mg with II = 12 h at time 0: the prediction at the dose record is the "
                    "steady-state peak (own dose included); 12 h later (no further dose) the trough.",
        derivation=PRE_IV + " Steady state at phase s: 100/50*exp(-0.1*s)/(1-exp(-0.1*12)) (geometric series over "
                            "the copies given s, s+12, s+24, ... h before).",
        records=[
            dose(0, 100, ii=12, ss=1, cp="100/50/(1-exp(-0.1*12))"),
            obs(6, "100/50*exp(-0.1*6)/(1-exp(-0.1*12))"),
            obs(12, "100/50*exp(-0.1*12)/(1-exp(-0.1*12))"),
            obs(24, "100/50*exp(-0.1*24)/(1-exp(-0.1*12))"),
        ],
    ),
    dict(
        name="ss1_bolus_then_addl", model=IV, params=P_IV,
        description="SS=1 bolus of 100 mg with II = 12 and ADDL = 2: steady state at 0 h, then additional "
                    "doses at 12 and 24 h keep it. The record at 12 h sees the trough (before the ADDL dose).",
        derivation=PRE_IV + " Steady state at phase s: 100/50*exp(-0.1*s)/(1-exp(-0.1*12)); after the last "
                            "dose (24 h) the sum over all copies is the same series with s = t - 24.",
        records=[
            dose(0, 100, ii=12, addl=2, ss=1, cp="100/50/(1-exp(-0.1*12))"),
            obs(6, "100/50*exp(-0.1*6)/(1-exp(-0.1*12))"),
            obs(12, "100/50*exp(-0.1*12)/(1-exp(-0.1*12))"),
            obs(30, "100/50*exp(-0.1*(30-24))/(1-exp(-0.1*12))"),
            obs(48, "100/50*exp(-0.1*(48-24))/(1-exp(-0.1*12))"),
        ],
    ),
    dict(
        name="ss1_bolus_oral", model=ORAL, params=P_ORAL,
        description="SS=1 oral dose of 100 mg with II = 12 h at time 0 (no lag): the depot and central "
                    "amounts are at steady state; the central concentration is the steady-state Bateman "
                    "function.",
        derivation=PRE_ORAL + " Steady state at phase s: 100*1/(50*0.9)*(exp(-0.1*s)/(1-exp(-0.1*12)) - "
                              "exp(-1*s)/(1-exp(-1*12))).",
        records=[
            dose(0, 100, cmt=1, ii=12, ss=1, cp=bateman_ss(1, 100, 0, 12)),
            obs(1, bateman_ss(1, 100, 1, 12)),
            obs(6, bateman_ss(1, 100, 6, 12)),
            obs(12, bateman_ss(1, 100, 12, 12)),
        ],
    ),
    dict(
        name="ss1_infusion_shorter_than_ii", model=IV, params=P_IV,
        description="SS=1 infusion of 100 mg at 50 mg/h (2 h) every II = 12 h, at time 0: the record sees the "
                    "steady-state trough; its own infusion then runs from 0 to 2 h; no further doses.",
        derivation=PRE_IV + " R/CL = 10, T = 2. Earlier copies (started 12, 24, ... h before) have ended: "
                            "sum_{j>=1} 10*(1-exp(-0.2))*exp(-0.1*(t+12*j-2)) = 10*(1-exp(-0.1*2))*exp(-0.1*(t+12-2))/(1-exp(-0.1*12)); "
                            "plus the own infusion.",
        records=[
            dose(0, 100, rate=50, ii=12, ss=1, cp="50/5*(1-exp(-0.1*2))*exp(-0.1*(0+12-2))/(1-exp(-0.1*12))"),
            obs(1, "50/5*(1-exp(-0.1*1)) + 50/5*(1-exp(-0.1*2))*exp(-0.1*(1+12-2))/(1-exp(-0.1*12))"),
            obs(2, "50/5*(1-exp(-0.1*2)) + 50/5*(1-exp(-0.1*2))*exp(-0.1*(2+12-2))/(1-exp(-0.1*12))"),
            obs(6, "50/5*(1-exp(-0.1*2))*exp(-0.1*(6-2)) + 50/5*(1-exp(-0.1*2))*exp(-0.1*(6+12-2))/(1-exp(-0.1*12))"),
            obs(12, "50/5*(1-exp(-0.1*2))*exp(-0.1*(12-2))/(1-exp(-0.1*12))"),
        ],
    ),
    dict(
        name="ss1_infusion_longer_than_ii", model=IV, params=P_IV,
        description="SS=1 infusion of 200 mg at 10 mg/h (20 h) every II = 12 h, at time 0: infusions overlap. "
                    "At the record the copy started 12 h earlier is still running; no further doses.",
        derivation=PRE_IV + " R/CL = 10/5 = 2, T = 20. Copy j started 12*j h before the record, s_j = t + 12*j: "
                            "running (s_j < 20) gives 2*(1-exp(-0.1*s_j)); ended gives 2*(1-exp(-2))*exp(-0.1*(s_j-20)) "
                            "= 2*(exp(2)-1)*exp(-0.1*s_j); the ended copies j >= j0 sum to "
                            "2*(exp(2)-1)*exp(-0.1*(t+12*j0))/(1-exp(-1.2)).",
        records=[
            dose(0, 200, rate=10, ii=12, ss=1,
                 cp="2*(1-exp(-0.1*12)) + 2*(exp(2)-1)*exp(-0.1*24)/(1-exp(-0.1*12))"),
            obs(4, "2*(1-exp(-0.1*4)) + 2*(1-exp(-0.1*16)) + 2*(exp(2)-1)*exp(-0.1*28)/(1-exp(-0.1*12))"),
            obs(10, "2*(1-exp(-0.1*10)) + 2*(exp(2)-1)*exp(-0.1*22)/(1-exp(-0.1*12))"),
            obs(12, "2*(1-exp(-0.1*12)) + 2*(exp(2)-1)*exp(-0.1*24)/(1-exp(-0.1*12))"),
            obs(30, "2*(exp(2)-1)*exp(-0.1*30)/(1-exp(-0.1*12))"),
        ],
    ),
    dict(
        name="ss2_adds_to_previous_dose", model=IV, params=P_IV,
        description="A 100 mg bolus at 0 h, then at 12 h an SS=2 bolus of 50 mg with II = 12: the steady "
                    "state of 50 mg every 12 h is added on top of what remains of the first dose (no reset).",
        derivation=PRE_IV + " Residual 100/50*exp(-0.1*t) plus steady state 50/50*exp(-0.1*(t-12))/(1-exp(-0.1*12)).",
        records=[
            dose(0, 100, cp="100/50"),
            obs(6, "100/50*exp(-0.1*6)"),
            dose(12, 50, ii=12, ss=2, cp="100/50*exp(-0.1*12) + 50/50/(1-exp(-0.1*12))"),
            obs(18, "100/50*exp(-0.1*18) + 50/50*exp(-0.1*(18-12))/(1-exp(-0.1*12))"),
        ],
    ),
    dict(
        name="ss1_resets_previous_dose", model=IV, params=P_IV,
        description="A 100 mg bolus at 0 h, an observation at 6 h, then at 6 h an SS=1 bolus of 50 mg with "
                    "II = 24: the SS=1 record resets the system, so the first dose is gone afterwards.",
        derivation=PRE_IV + " Before the SS record: 100/50*exp(-0.1*6); from it on: 50/50*exp(-0.1*(t-6))/(1-exp(-0.1*24)).",
        records=[
            dose(0, 100, cp="100/50"),
            obs(6, "100/50*exp(-0.1*6)"),
            dose(6, 50, ii=24, ss=1, cp="50/50/(1-exp(-0.1*24))"),
            obs(12, "50/50*exp(-0.1*(12-6))/(1-exp(-0.1*24))"),
        ],
    ),
    dict(
        name="ss_constant_infusion_ii0", model=IV, params=P_IV,
        description="SS=1 with AMT 0, RATE 10 mg/h and II 0: a constant infusion at steady state, C = RATE/CL "
                    "= 2 mg/L, continuing; a 100 mg bolus at 5 h adds on top of it.",
        derivation=PRE_IV + " C_ss = 10/5; bolus part 100/50*exp(-0.1*(t-5)).",
        records=[
            dose(0, 0, rate=10, ss=1, cp="10/5"),
            obs(5, "10/5"),
            dose(5, 100, cp="10/5 + 100/50"),
            obs(10, "10/5 + 100/50*exp(-0.1*(10-5))"),
            obs(100, "10/5 + 100/50*exp(-0.1*(100-5))"),
        ],
    ),
    dict(
        name="ss1_oral_with_lag", model=ORAL, params={**P_ORAL, "ALAG1": 1.0},
        description="SS=1 oral dose of 100 mg, II = 12, ALAG1 = 1 h, at time 0: at the record the system is at "
                    "steady state 12 - 1 = 11 h after the last arrival; the record's own dose arrives at 1 h; "
                    "no further doses.",
        derivation=PRE_ORAL + " Steady-state Bateman at phase s: 100*1/(50*0.9)*(exp(-0.1*s)/(1-exp(-0.1*12)) - "
                              "exp(-1*s)/(1-exp(-1*12))), s = t + 11 for t < 1 (last arrival at -11 h), s = t - 1 from "
                              "the own arrival on (the series then covers the copies arriving at 1, -11, -23, ... h).",
        records=[
            dose(0, 100, cmt=1, ii=12, ss=1, cp=bateman_ss(1, 100, "(12-1)", 12)),
            obs(0.5, bateman_ss(1, 100, "(0.5+11)", 12)),
            obs(1, bateman_ss(1, 100, "(1+11)", 12)),
            obs(4, bateman_ss(1, 100, "(4-1)", 12)),
            obs(30, bateman_ss(1, 100, "(30-1)", 12)),
        ],
    ),
    dict(
        name="ss1_iv_bolus_with_lag", model=IV, params={**P_IV, "ALAG1": 2.0},
        description="SS=1 IV bolus of 100 mg, II = 12, ALAG1 = 2 h, at time 0: the record sees the steady state "
                    "10 h after the last arrival; the record at 2 h is before the own (implied) arrival and sees "
                    "the trough; at 3 h one hour after the peak.",
        derivation=PRE_IV + " Steady state at phase s: 100/50*exp(-0.1*s)/(1-exp(-0.1*12)); s = t + 10 before the "
                            "arrival at 2 h, s = t - 2 after it.",
        records=[
            dose(0, 100, ii=12, ss=1, cp="100/50*exp(-0.1*(12-2))/(1-exp(-0.1*12))"),
            obs(2, "100/50*exp(-0.1*12)/(1-exp(-0.1*12))"),
            obs(3, "100/50*exp(-0.1*(3-2))/(1-exp(-0.1*12))"),
            obs(14, "100/50*exp(-0.1*(14-2))/(1-exp(-0.1*12))"),
        ],
    ),
    dict(
        name="evid2_other_records", model=IV, params=P_IV,
        description="EVID 2 (other-type) records get predictions like observations: before the dose at the "
                    "same time (0), after it (2), and later.",
        derivation=PRE_IV + " C(t) = 100/50*exp(-0.1*t) after the dose record.",
        records=[
            other(0, "0"),
            dose(0, 100, cp="100/50"),
            other(0, "100/50"),
            other(5, "100/50*exp(-0.1*5)"),
            obs(5, "100/50*exp(-0.1*5)"),
            other(30, "100/50*exp(-0.1*30)"),
        ],
    ),
    dict(
        name="evid3_reset_stops_everything", model=IV, params=P_IV,
        description="A 100 mg bolus and an infusion of 100 mg at 10 mg/h (0-10 h) at time 0; an EVID 3 reset at "
                    "5 h empties the system and stops the infusion; a new 50 mg bolus at 12 h starts afresh.",
        derivation=PRE_IV + " Before the reset: 100/50*exp(-0.1*t) + 10/5*(1-exp(-0.1*t)); 0 from the reset until "
                            "12 h; then 50/50*exp(-0.1*(t-12)).",
        records=[
            dose(0, 100, cp="100/50"),
            dose(0, 100, rate=10, cp="100/50"),
            obs(4, "100/50*exp(-0.1*4) + 10/5*(1-exp(-0.1*4))"),
            reset(5, "0"),
            obs(6, "0"),
            obs(12, "0"),
            dose(12, 50, cp="50/50"),
            obs(14, "50/50*exp(-0.1*(14-12))"),
        ],
    ),
    dict(
        name="evid3_reset_cancels_addl", model=IV, params=P_IV,
        description="100 mg IV with II = 12, ADDL = 4 from time 0; an EVID 3 reset at 20 h cancels the "
                    "additional doses still to come (24, 36, 48 h).",
        derivation=PRE_IV + " Before 20 h: doses at 0 and 12 h; after the reset: 0.",
        records=[
            dose(0, 100, ii=12, addl=4, cp="100/50"),
            obs(18, "100/50*(exp(-0.1*18)+exp(-0.1*(18-12)))"),
            reset(20, "0"),
            obs(30, "0"),
            obs(50, "0"),
        ],
    ),
    dict(
        name="evid4_reset_and_dose", model=IV, params=P_IV,
        description="A 100 mg bolus at 0 h, then an EVID 4 record at 12 h with 50 mg: reset (the first dose is "
                    "gone) then dose.",
        derivation=PRE_IV + " Before 12 h: 100/50*exp(-0.1*t); from 12 h: 50/50*exp(-0.1*(t-12)).",
        records=[
            dose(0, 100, cp="100/50"),
            obs(6, "100/50*exp(-0.1*6)"),
            dose(12, 50, evid=4, cp="50/50"),
            obs(14, "50/50*exp(-0.1*(14-12))"),
        ],
    ),
    dict(
        name="evid3_time_goes_back_new_episode", model=IV, params=P_IV,
        description="A 100 mg bolus at 0 h observed at 4 h; then an EVID 3 reset record with TIME 0 (time goes "
                    "back): a new episode starts empty; a 200 mg bolus at (new) time 0 observed at 4 h.",
        derivation=PRE_IV + " Episode 1: 100/50*exp(-0.1*t); episode 2: 200/50*exp(-0.1*t).",
        records=[
            dose(0, 100, cp="100/50"),
            obs(4, "100/50*exp(-0.1*4)"),
            reset(0, "0"),
            dose(0, 200, cp="200/50"),
            obs(4, "200/50*exp(-0.1*4)"),
        ],
    ),
    dict(
        name="evid4_time_goes_back_new_episode", model=IV, params=P_IV,
        description="A 100 mg bolus at 0 h observed at 6 h; then an EVID 4 record with TIME 0 and 50 mg: a new "
                    "episode that starts empty and receives 50 mg.",
        derivation=PRE_IV + " Episode 1: 100/50*exp(-0.1*t); episode 2: 50/50*exp(-0.1*t).",
        records=[
            dose(0, 100, cp="100/50"),
            obs(6, "100/50*exp(-0.1*6)"),
            dose(0, 50, evid=4, cp="50/50"),
            obs(6, "50/50*exp(-0.1*6)"),
        ],
    ),
    dict(
        name="two_dosing_compartments", model=ORAL, params={**P_ORAL, "F1": 0.8, "ALAG1": 0.5},
        description="One subject doses both DEPOT (CMT 1: 100 mg, F1 = 0.8, ALAG1 = 0.5 h) and CENTRAL (CMT 2: "
                    "50 mg bolus, F2 = 1, no lag) at time 0; F1 and ALAG1 apply to the depot dose only.",
        derivation=PRE_ORAL + " C(t) = [t > 0.5] 0.8*100*1/(50*0.9)*(exp(-0.1*(t-0.5))-exp(-1*(t-0.5))) + 50/50*exp(-0.1*t).",
        records=[
            dose(0, 100, cmt=1, cp="0"),
            dose(0, 50, cmt=2, cp="50/50"),
            obs(0.5, "50/50*exp(-0.1*0.5)"),
            obs(2, bateman(0.8, 100, "(2-0.5)") + " + 50/50*exp(-0.1*2)"),
            obs(8, bateman(0.8, 100, "(8-0.5)") + " + 50/50*exp(-0.1*8)"),
        ],
    ),
    dict(
        name="oral_plus_central_infusion", model=ORAL, params=P_ORAL,
        description="An oral dose of 100 mg into DEPOT and an infusion of 100 mg at 25 mg/h (4 h) into CENTRAL "
                    "(CMT 2), both at time 0: Bateman plus infusion.",
        derivation=PRE_ORAL + " Infusion into CENTRAL: R/CL = 25/5 = 5, T = 4 h.",
        records=[
            dose(0, 100, cmt=1, cp="0"),
            dose(0, 100, cmt=2, rate=25, cp="0"),
            obs(2, bateman(1, 100, 2) + " + 25/5*(1-exp(-0.1*2))"),
            obs(4, bateman(1, 100, 4) + " + 25/5*(1-exp(-0.1*4))"),
            obs(10, bateman(1, 100, 10) + " + 25/5*(1-exp(-0.1*4))*exp(-0.1*(10-4))"),
        ],
    ),
    dict(
        name="dose_and_observation_same_time_both_orders", model=IV, params=P_IV,
        description="100 mg at 0 h and again at 12 h; at 12 h an observation record before the dose record "
                    "sees the pre-dose value, one after it the post-dose value.",
        derivation=PRE_IV + " Pre-dose at 12 h: 100/50*exp(-1.2); post-dose: + 100/50.",
        records=[
            dose(0, 100, cp="100/50"),
            obs(12, "100/50*exp(-0.1*12)"),
            dose(12, 100, cp="100/50*exp(-0.1*12) + 100/50"),
            obs(12, "100/50*exp(-0.1*12) + 100/50"),
            obs(24, "100/50*(exp(-0.1*24)+exp(-0.1*(24-12)))"),
        ],
    ),
    dict(
        name="several_subjects", model=IV, params=P_IV,
        description="Four subjects in one file with the same parameters and different doses: ID 1 100 mg "
                    "bolus, ID 2 200 mg bolus, ID 3 a 100 mg infusion at 25 mg/h starting at 2 h, ID 4 no dose.",
        derivation=PRE_IV + " Each subject on its own: ID 1 2*exp(-0.1*t), ID 2 4*exp(-0.1*t), ID 3 infusion "
                            "R/CL = 5, T = 4 h from 2 h, ID 4 0.",
        records=[
            dose(0, 100, cp="100/50", id=1),
            obs(6, "100/50*exp(-0.1*6)", id=1),
            dose(0, 200, cp="200/50", id=2),
            obs(6, "200/50*exp(-0.1*6)", id=2),
            obs(0, "0", id=3),
            dose(2, 100, rate=25, cp="0", id=3),
            obs(4, "25/5*(1-exp(-0.1*(4-2)))", id=3),
            obs(10, "25/5*(1-exp(-0.1*4))*exp(-0.1*(10-6))", id=3),
            obs(0, "0", id=4),
            obs(6, "0", id=4),
        ],
    ),
    dict(
        name="subjects_with_own_parameters", model=IV,
        params_by_id=[{"ID": 3, "CL": 2.0, "V": 10.0}, {"ID": 7, "CL": 5.0, "V": 50.0}],
        description="Two subjects (ID 7 first in the file, then ID 3) with their own parameters given as a "
                    "table by ID: ID 7 CL 5, V 50 (k = 0.1); ID 3 CL 2, V 10 (k = 0.2); 100 mg bolus each.",
        derivation="1-compartment IV bolus: C = D/V*exp(-(CL/V)*t). ID 7: 100/50*exp(-0.1*t); ID 3: 100/10*exp(-0.2*t).",
        records=[
            dose(0, 100, cp="100/50", id=7),
            obs(6, "100/50*exp(-0.1*6)", id=7),
            dose(0, 100, cp="100/10", id=3),
            obs(6, "100/10*exp(-0.2*6)", id=3),
        ],
    ),
    dict(
        name="observation_before_any_dose", model=IV, params=P_IV,
        description="Observations before the first dose (at 0 h, and at 1 h in a record placed before the dose "
                    "record at 1 h) are 0.",
        derivation=PRE_IV + " C(t) = 0 before the dose record, then 100/50*exp(-0.1*(t-1)).",
        records=[
            obs(0, "0"),
            obs(1, "0"),
            dose(1, 100, cp="100/50"),
            obs(3, "100/50*exp(-0.1*(3-1))"),
        ],
    ),
]


# ------------------------------------------------------------------------------------------------
# evaluation and output
# ------------------------------------------------------------------------------------------------
def evaluate(formula: str) -> float:
    """Value of a hand formula: numbers, + - * / ( ) and exp only."""
    allowed = set("0123456789.+-*/() exp")
    if not set(formula) <= allowed:
        raise ValueError(f"formula {formula!r} uses characters other than numbers, + - * / ( ) and exp")
    return float(eval(formula, {"__builtins__": {}}, {"exp": math.exp}))  # noqa: S307 - checked above


def _field(value, dot_if_zero=True) -> str:
    if dot_if_zero and value == 0:
        return "."
    return f"{value:g}" if isinstance(value, float) else str(value)


def csv_rows(case) -> list[list[str]]:
    rows = [list(COLUMNS)]
    for r in case["records"]:
        expected = "" if r["cp"] is None else repr(evaluate(r["cp"]))
        rows.append([
            str(r["ID"]), _field(r["TIME"], dot_if_zero=False), str(r["EVID"]),
            _field(r["AMT"]), _field(r["RATE"]), _field(r["CMT"]), _field(r["II"]), _field(r["ADDL"]),
            _field(r["SS"]), expected,
        ])
    return rows


def csv_text(case) -> str:
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(csv_rows(case))
    return buf.getvalue()


def _toml_value(v) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


def derivation_text(case) -> str:
    lines = [case["derivation"]]
    for i, r in enumerate(case["records"], start=1):
        if r["cp"] is not None:
            lines.append(f"row {i} (ID {r['ID']}, TIME {r['TIME']:g}, EVID {r['EVID']}): "
                         f"CP = {r['cp']} = {evaluate(r['cp']):.10g}")
    return "\n".join(lines)


def toml_text() -> str:
    out = [
        "# Event-semantics conformance cases (generated by derive_expected.py; edit that file, then rerun it).",
        "# Each case: a CSV of NONMEM records with an EXPECTED column (CP in mg/L; blank = not checked).",
        "# Units: time h, amount mg, volume L, clearance L/h, rate mg/h, concentration mg/L.",
        "",
    ]
    for case in CASES:
        assert "'''" not in case["description"] + case["derivation"]
        out.append("[[case]]")
        out.append(f"name = {_toml_value(case['name'])}")
        out.append(f"file = {_toml_value(case['name'] + '.csv')}")
        out.append(f"model = {_toml_value(case['model'])}")
        if "params" in case:
            out.append(f"params = {_toml_value(case['params'])}")
        else:
            out.append(f"params_by_id = {_toml_value(case['params_by_id'])}")
        out.append(f"description = '''\n{case['description']}'''")
        out.append(f"derivation = '''\n{derivation_text(case)}'''")
        out.append("")
    return "\n".join(out)


def outputs() -> dict[str, str]:
    """File name -> text of every generated file."""
    names = [c["name"] for c in CASES]
    if len(set(names)) != len(names):
        raise ValueError("duplicate case names")
    files = {f"{c['name']}.csv": csv_text(c) for c in CASES}
    files["cases.toml"] = toml_text()
    return files


def main() -> None:
    for name, text in outputs().items():
        (HERE / name).write_text(text)
    print(f"wrote {len(CASES)} cases to {HERE}")


if __name__ == "__main__":
    main()
