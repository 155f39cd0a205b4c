"""The published NONMEM runs of this folder as pkpd datasets and population models (issue 19).

One function per run translates its control stream *by hand* (no NM-TRAN parsing): ``$INPUT`` (names by
position, ``DROP``), ``$DATA`` filters (``IGNORE=@``, ``IGNORE=C``), ``$PK`` / ``$ERROR`` as an ``individual``
function and a pkpd residual error, ``$THETA`` bounds, ``$OMEGA`` / ``$SIGMA`` structure and the estimation
method. Each :class:`Run` builds the :class:`pkpd.PopulationModel` at any NONMEM parameter vector (the initial
estimates of the control stream, the final ones of the ``.ext`` file) and maps pkpd's estimates and standard
errors back to NONMEM's THETA / OMEGA / SIGMA, so that tests compare like with like.

Conventions of the translation (``docs/architecture.md``): ``omega`` of a PopulationModel is a variance, as
``$OMEGA``; a pkpd residual error holds standard deviations (``SD``) or coefficients (``CV``), so NONMEM's
``$SIGMA`` (a variance of EPS) is their square. NONMEM's bounded THETAs are estimated by pkpd on the log scale
when their lower bound is 0 (``transforms``) and with the same ``bounds``; the scale changes the path of the
search only, not the objective or (to first order) the standard errors.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

import pkpd
from pkpd.models import OneCompartment, OneCompartmentOral, TwoCompartmentOral

HERE = Path(__file__).resolve().parent

__all__ = ["Run", "RUNS", "load", "read_data", "lower_triangle"]


# ---------------------------------------------------------------------------------------------------------
# $DATA / $INPUT
def read_data(path: Path, inputs: str, ignore: str) -> pd.DataFrame:
    """The records NONMEM reads from ``path``: ``$INPUT`` names the fields by position (``X=DROP`` and ``DROP``
    drop them; fields beyond the last name are not read), ``ignore`` is ``$DATA IGNORE=``: ``"@"`` skips lines
    whose first non-blank character is a letter or ``@``, another character skips lines starting with it.
    ``.`` and empty fields are missing. Returns the kept columns (numbers), one row per record."""
    names = inputs.split()
    rows = []
    for line in Path(path).read_text().splitlines():
        text = line.strip()
        if not text:
            continue
        first = text[0]
        if (ignore == "@" and (first.isalpha() or first == "@")) or (ignore != "@" and first == ignore):
            continue
        fields = [f.strip() for f in (text.split(",") if "," in text else text.split())]
        rows.append(fields[: len(names)])
    frame = pd.DataFrame(rows, columns=names[: max(len(r) for r in rows)])
    keep = [n for n in frame.columns if n != "DROP" and not n.endswith("=DROP")]
    frame = frame[keep].replace({".": np.nan, "": np.nan})
    return frame.apply(pd.to_numeric)


def lower_triangle(rows) -> np.ndarray:
    """A symmetric matrix from NONMEM's lower-triangular rows (row i has i entries, ``None`` = 0)."""
    q = len(rows)
    m = np.zeros((q, q))
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            m[i, j] = m[j, i] = 0.0 if v is None else float(v)
    return m


# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One NONMEM run translated to pkpd.

    ``build(theta, omega, sigma)`` makes the population model at NONMEM's THETA vector, OMEGA and SIGMA
    matrices; ``to_nonmem(theta, omega, error)`` maps pkpd estimates back to those three;
    ``se_to_nonmem(fit)`` maps the reported standard errors of a fit to NONMEM's SE vectors."""

    name: str
    method: str
    data: pkpd.io.Dataset
    reference: dict
    theta_names: tuple          # pkpd fixed-effect names, in THETA order (error THETAs excluded)
    eta_names: tuple
    build: Callable
    to_nonmem: Callable
    se_to_nonmem: Callable
    bounds: dict = field(default_factory=dict)
    covariance: str = "sandwich"
    source: str = ""

    @property
    def directory(self) -> Path:
        return HERE / self.name

    def popmodel(self, which: str = "final") -> pkpd.PopulationModel:
        """The population model at NONMEM's ``"initial"`` estimates (control stream) or ``"final"`` ones
        (``.ext``, full precision)."""
        ref = self.reference["initial" if which == "initial" else "ext_final"]
        return self.build(list(ref["theta"]), lower_triangle(ref["omega"]), lower_triangle(ref["sigma"]))

    def omega_frame(self, omega) -> pd.DataFrame:
        return pd.DataFrame(np.asarray(omega, dtype=float), index=list(self.eta_names), columns=list(self.eta_names))

    def fit_to_nonmem(self, fit):
        return self.to_nonmem(fit.theta, fit.omega.to_numpy(), fit.error)


def _reference(name: str) -> dict:
    return json.loads((HERE / name / "reference.json").read_text())


def _se_omega(rep: dict, eta_names) -> np.ndarray:
    """NONMEM-shaped SE matrix of OMEGA from pkpd's reported SEs (``omega2_X``, ``omega_X_Y``); NaN where the
    element is not estimated."""
    q = len(eta_names)
    out = np.full((q, q), np.nan)
    for i, a in enumerate(eta_names):
        for j, b in enumerate(eta_names[: i + 1]):
            key = f"omega2_{a}" if i == j else f"omega_{a}_{b}"
            if key in rep:
                out[i, j] = out[j, i] = rep[key]
    return out


def reported_se(fit) -> dict:
    """Standard errors of the reported quantities of a fit (natural scale, delta method)."""
    cov = fit.reported_covariance
    return {k: math.sqrt(max(v, 0.0)) for k, v in zip(cov.index, np.diag(cov.to_numpy()))}


def _positive(n):
    return {f"THETA{i}": "log" for i in n}


def _proportional_sigma(model, theta_names, eta_names, individual, positive):
    """``build``, ``to_nonmem`` and ``se_to_nonmem`` of a run whose THETAs are all model THETAs and whose error
    is ``Y = F + F*EPS(1)`` (SIGMA = CV^2; its SE 2 CV SE(CV) by the delta method); THETAs ``positive`` in
    (0, inf)."""

    def build(theta, omega, sigma):
        return pkpd.PopulationModel(model, dict(zip(theta_names, theta)),
                                    pd.DataFrame(omega, index=list(eta_names), columns=list(eta_names)),
                                    pkpd.ProportionalError(math.sqrt(sigma[0, 0])), individual=individual,
                                    transforms=_positive(positive))

    def to_nonmem(theta, omega, error):
        return [theta[k] for k in theta_names], np.asarray(omega), np.array([[error["CV"] ** 2]])

    def se_to_nonmem(fit):
        rep = reported_se(fit)
        return ([rep[k] for k in theta_names], _se_omega(rep, eta_names),
                np.array([[2 * fit.error["CV"] * rep["sigma_CV"]]]))

    return build, to_nonmem, se_to_nonmem


# ---------------------------------------------------------------------------------------------------------
# pheno_real: ADVAN1 TRANS2, FOCE-I
def pheno_real() -> Run:
    """``$PK``: TVCL=THETA(1)*WGT; TVV=THETA(2)*WGT; IF(APGR.LT.5) TVV=TVV*(1+THETA(3)); CL=TVCL*EXP(ETA(1));
    V=TVV*EXP(ETA(2)); S1=V. ``$ERROR``: W=F; Y=F+W*EPS(1) (proportional, SIGMA = CV^2). THETA(1), THETA(2) in
    (0, inf), THETA(3) in (-0.99, inf). The dose (AMT, no CMT) goes to compartment 1 (CENTRAL of ADVAN1)."""
    name = "pheno_real"
    frame = read_data(HERE / name / "pheno.dta", "ID TIME AMT WGT APGR DV FA1 FA2", ignore="@")
    data = pkpd.read_nonmem(frame)
    theta_names = ("THETA1", "THETA2", "THETA3")
    eta_names = ("CL", "V")

    def individual(th, eta, cov):
        wgt, apgr = cov["WGT"].to_numpy(float), cov["APGR"].to_numpy(float)
        tvcl = th["THETA1"] * wgt
        tvv = th["THETA2"] * wgt
        tvv = np.where(apgr < 5, tvv * (1 + th["THETA3"]), tvv)
        return {"CL": tvcl * np.exp(eta[:, 0]), "V": tvv * np.exp(eta[:, 1])}

    build, to_nonmem, se_to_nonmem = _proportional_sigma(OneCompartment(), theta_names, eta_names, individual,
                                                         (1, 2))

    return Run(name, "FOCEI", data, _reference(name), theta_names, eta_names, build, to_nonmem, se_to_nonmem,
               bounds={"THETA3": (-0.99, math.inf)},
               source="pharmpy/pharmpy@435dd66ecfc0532db4b8f5de2cea0afb1ecb4d84 tests/testdata/nonmem/pheno_real.mod")


# ---------------------------------------------------------------------------------------------------------
# warfarin_run000: ADVAN2 TRANS1, FOCE-I
def warfarin_run000() -> Run:
    """``$PK``: KA=EXP(THETA(1)+ETA(1)); CL=EXP(THETA(2)+ETA(2)); VC=EXP(THETA(3)+ETA(3)); K=CL/VC; S2=VC
    (TRANS1: the model is written with K; CL = K*VC). ``$ERROR``: W=SQRT(IPRED**2*THETA(4)**2+THETA(5)**2);
    Y=IPRED+W*EPS(1) with ``$SIGMA 1 FIX``: a combined error whose variances add, its CV and SD the THETAs
    (estimated by pkpd on the log scale: NONMEM's unbounded THETA(4), THETA(5) enter squared, so only their
    absolute values matter). All THETAs unbounded; the log-scale THETA(1..3) are estimated as given."""
    name = "warfarin_run000"
    frame = read_data(HERE / name / "warfarin_PKS.csv", "ID TIME AMT DV EVID WT AGE SEX SPARSE", ignore="@")
    data = pkpd.read_nonmem(frame)
    theta_names = ("THETA1", "THETA2", "THETA3")
    eta_names = ("KA", "CL", "V")

    def individual(th, eta):
        return {"KA": np.exp(th["THETA1"] + eta[:, 0]), "CL": np.exp(th["THETA2"] + eta[:, 1]),
                "V": np.exp(th["THETA3"] + eta[:, 2])}

    def build(theta, omega, sigma):
        assert sigma[0, 0] == 1.0
        return pkpd.PopulationModel(OneCompartmentOral(), dict(zip(theta_names, theta[:3])),
                                    pd.DataFrame(omega, index=list(eta_names), columns=list(eta_names)),
                                    pkpd.CombinedError(sd=abs(theta[4]), cv=abs(theta[3])), individual=individual)

    def to_nonmem(theta, omega, error):
        return [theta[k] for k in theta_names] + [error["CV"], error["SD"]], np.asarray(omega), np.array([[1.0]])

    def se_to_nonmem(fit):
        rep = reported_se(fit)
        return ([rep[k] for k in theta_names] + [rep["sigma_CV"], rep["sigma_SD"]],
                _se_omega(rep, eta_names), np.array([[np.nan]]))

    return Run(name, "FOCEI", data, _reference(name), theta_names, eta_names, build, to_nonmem, se_to_nonmem,
               source="nlmixr2/nonmem2rx@728d75c7c5a250a0626055c8fb988e1e8603b8b7 "
                      "inst/mods/err/run000.ctl")


# ---------------------------------------------------------------------------------------------------------
# bauer504: ADVAN1 TRANS2, FOCE-I, MATRIX=R
def bauer504() -> Run:
    """``$PK``: TVCL=THETA(1)*(WT/70)**THETA(3)*(AGE/50)**THETA(5)*THETA(7)**SEX; TVV likewise with THETA(2, 4,
    6, 8); CL=TVCL*EXP(ETA(1)); V=TVV*EXP(ETA(2)); S1=V. ``$ERROR``: Y=F*(1+EPS(1)) (proportional). ``$OMEGA
    BLOCK(2)``. THETA(1), THETA(2) in (0, inf), the others unbounded. ``$DATA IGNORE=C``; zero-order infusions
    from the RATE column into compartment 1. ``$COV MATRIX=R``."""
    name = "bauer504"
    frame = read_data(HERE / name / "501.csv", "C ID TIME DV AMT RATE WT AGE SEX", ignore="C")
    data = pkpd.read_nonmem(frame.drop(columns="C"))
    theta_names = tuple(f"THETA{i}" for i in range(1, 9))
    eta_names = ("CL", "V")

    def individual(th, eta, cov):
        wt, age, sex = (cov[c].to_numpy(float) for c in ("WT", "AGE", "SEX"))
        tvcl = th["THETA1"] * (wt / 70) ** th["THETA3"] * (age / 50) ** th["THETA5"] * th["THETA7"] ** sex
        tvv = th["THETA2"] * (wt / 70) ** th["THETA4"] * (age / 50) ** th["THETA6"] * th["THETA8"] ** sex
        return {"CL": tvcl * np.exp(eta[:, 0]), "V": tvv * np.exp(eta[:, 1])}

    build, to_nonmem, se_to_nonmem = _proportional_sigma(OneCompartment(), theta_names, eta_names, individual,
                                                         (1, 2))

    return Run(name, "FOCEI", data, _reference(name), theta_names, eta_names, build, to_nonmem, se_to_nonmem,
               covariance="R",
               source="nlmixr2/nonmem2rx@728d75c7c5a250a0626055c8fb988e1e8603b8b7 "
                      "inst/mods/bauer_2019_cptpsp_tutorial_1/supp2/504.ctl; Bauer RJ, "
                      "NONMEM Tutorial Part I, CPT Pharmacometrics Syst Pharmacol 2019;8:525-537")


# ---------------------------------------------------------------------------------------------------------
# metrumrg_1005: ADVAN4 TRANS4, FOCE-I
def metrumrg_1005() -> Run:
    """``$PK``: CL=THETA(1)*EXP(ETA(1))*THETA(6)**SEX*(WT/70)**THETA(7); V2=THETA(2)*EXP(ETA(2));
    KA=THETA(3)*EXP(ETA(3)); Q=THETA(4); V3=THETA(5); S2=V2 (pkpd's TwoCompartmentOral: V1 = NONMEM's V2,
    V2 = NONMEM's V3). ``$ERROR``: Y=F*(1+ERR(1))+ERR(2), two diagonal SIGMAs: a combined error whose variances
    add, CV^2 = SIGMA(1,1), SD^2 = SIGMA(2,2). ``$OMEGA BLOCK(3)``. Every THETA in (0, upper). ``$INPUT``
    names the first 15 of the file's 24 columns (column 11, ``WEIGHT`` in the file, is ``WT``; SEQ dropped);
    ``IGNORE=C``."""
    name = "metrumrg_1005"
    frame = read_data(HERE / name / "phase1.csv",
                      "C ID TIME SEQ=DROP EVID AMT DV SUBJ HOUR HEIGHT WT SEX AGE DOSE FED", ignore="C")
    data = pkpd.read_nonmem(frame.drop(columns="C"))
    theta_names = tuple(f"THETA{i}" for i in range(1, 8))
    eta_names = ("CL", "V2", "KA")
    ref = _reference(name)
    init = ref["initial"]
    bounds = {k: (lo, hi) for k, lo, hi in zip(theta_names, init["theta_lower"], init["theta_upper"])}

    def individual(th, eta, cov):
        wt, sex = cov["WT"].to_numpy(float), cov["SEX"].to_numpy(float)
        n = len(eta)
        return {"CL": th["THETA1"] * np.exp(eta[:, 0]) * th["THETA6"] ** sex * (wt / 70) ** th["THETA7"],
                "V1": th["THETA2"] * np.exp(eta[:, 1]), "KA": th["THETA3"] * np.exp(eta[:, 2]),
                "Q": np.full(n, th["THETA4"]), "V2": np.full(n, th["THETA5"])}

    def build(theta, omega, sigma):
        return pkpd.PopulationModel(TwoCompartmentOral(), dict(zip(theta_names, theta)),
                                    pd.DataFrame(omega, index=list(eta_names), columns=list(eta_names)),
                                    pkpd.CombinedError(sd=math.sqrt(sigma[1, 1]), cv=math.sqrt(sigma[0, 0])),
                                    individual=individual, transforms=_positive(range(1, 8)))

    def to_nonmem(theta, omega, error):
        return ([theta[k] for k in theta_names], np.asarray(omega),
                np.diag([error["CV"] ** 2, error["SD"] ** 2]))

    def se_to_nonmem(fit):
        rep = reported_se(fit)
        return ([rep[k] for k in theta_names], _se_omega(rep, eta_names),
                np.array([[2 * fit.error["CV"] * rep["sigma_CV"], np.nan],
                          [np.nan, 2 * fit.error["SD"] * rep["sigma_SD"]]]))

    return Run(name, "FOCEI", data, ref, theta_names, eta_names, build, to_nonmem, se_to_nonmem, bounds=bounds,
               source="metrumresearchgroup/metrumrg@2e5a5411de7768ee9d382b90b15a6b7fe9b210c9 "
                      "inst/example/project/nonmem/1005/1005.ctl")


# ---------------------------------------------------------------------------------------------------------
# mox2_fo: ADVAN2 TRANS2, FO
def mox2_fo() -> Run:
    """``$PK``: CL=THETA(1)*EXP(ETA(1)); VC=THETA(2)*EXP(ETA(2)); MAT=THETA(3)*EXP(ETA(3)); KA=1/MAT; V=VC (no
    S2). ``$ERROR``: CONC=A(2)/VC; Y=CONC+CONC*EPS(1) (proportional on the concentration, which is pkpd's CP).
    THETAs in (0, inf). ``$INPUT`` drops EVID and CMT: dose records are those with AMT > 0 (EVID 1, into
    compartment 1, DEPOT), the file's EVID 4 on the steady-state doses is not seen (SS=1 resets anyway)."""
    name = "mox2_fo"
    inputs = ("ID VISI XAT2=DROP DGRP DOSE FLAG=DROP ONO=DROP XIME=DROP NEUY SCR AGE SEX NYHA=DROP WT DROP ACE "
              "DIG DIU NUMB=DROP TAD TIME VIDD=DROP CLCR AMT SS II DROP CMT=DROP CONO=DROP DV EVID=DROP OVID=DROP")
    frame = read_data(HERE / name / "mox_simulated_normal.csv", inputs, ignore="@")
    frame["ID"] = frame["ID"].astype(int)
    data = pkpd.read_nonmem(frame)
    theta_names = ("THETA1", "THETA2", "THETA3")
    eta_names = ("CL", "VC", "MAT")

    def individual(th, eta):
        return {"CL": th["THETA1"] * np.exp(eta[:, 0]), "V": th["THETA2"] * np.exp(eta[:, 1]),
                "KA": 1.0 / (th["THETA3"] * np.exp(eta[:, 2]))}

    build, to_nonmem, _ = _proportional_sigma(OneCompartmentOral(), theta_names, eta_names, individual,
                                              (1, 2, 3))

    def se_to_nonmem(fit):                 # the run has no $COV
        return None

    return Run(name, "FO", data, _reference(name), theta_names, eta_names, build, to_nonmem, se_to_nonmem,
               covariance="",
               source="pharmpy/pharmpy@435dd66ecfc0532db4b8f5de2cea0afb1ecb4d84 tests/testdata/nonmem/models/mox2.mod")


# ---------------------------------------------------------------------------------------------------------
# mox1_ltbs: ADVAN2 TRANS1, FOCE, log-transform both sides
def _mox_ltbs_data(name: str) -> pkpd.io.Dataset:
    """The records of the moxonidine LTBS runs (``mox_simulated.csv`` in the run's folder): their shared ``$INPUT``
    (EVID and CMT dropped), DV turned back into concentrations (the file holds their logs)."""
    inputs = ("ID VISI XAT2=DROP DGRP DOSE FLAG=DROP ONO=DROP XIME=DROP DVO=DROP NEUY SCR AGE SEX NYH=DROP WT DROP "
              "ACE DIG DIU NUMB=DROP TAD TIME VIDD=DROP CRCL AMT SS II DROP CMT=DROP CONO=DROP DV EVID=DROP "
              "OVID=DROP")
    frame = read_data(HERE / name / "mox_simulated.csv", inputs, ignore="@")
    frame["ID"] = frame["ID"].astype(int)
    frame["DV"] = np.where(frame["AMT"] == 0, np.exp(frame["DV"]), frame["DV"])   # the file's DV: log(concentration)
    return pkpd.read_nonmem(frame)


def mox1_ltbs() -> Run:
    """``$PK``: CL=THETA(1)*EXP(ETA(1)); V=THETA(2)*EXP(ETA(2)); KA=THETA(3)*EXP(ETA(3)); K=CL/V; S2=V.
    ``$ERROR``: IPRED=LOG(.025); IF(F.GT.0) IPRED=LOG(F); Y=IPRED+ERR(1) on DV = the log of the concentration:
    pkpd's :class:`~pkpd.population.residual.ExponentialError` (log-transform both sides, SD^2 = SIGMA) on the
    concentrations ``exp(DV)``. The guard acts at one record, ID 419's observation at the time of its first dose
    (into the depot: F = 0 exactly, for any parameters): ``ExponentialError(zero_prediction=0.025)`` compares
    ``LOG(.025)`` there, as NONMEM does. THETAs in
    (0, inf). ``$OMEGA BLOCK(2)`` on CL, V and ``BLOCK(1)`` on KA. ``$INPUT`` drops EVID and CMT, as in mox2_fo:
    dose records are those with AMT > 0, into compartment 1 (DEPOT)."""
    name = "mox1_ltbs"
    data = _mox_ltbs_data(name)
    theta_names = ("THETA1", "THETA2", "THETA3")
    eta_names = ("CL", "V", "KA")

    def individual(th, eta):
        return {"CL": th["THETA1"] * np.exp(eta[:, 0]), "V": th["THETA2"] * np.exp(eta[:, 1]),
                "KA": th["THETA3"] * np.exp(eta[:, 2])}

    def build(theta, omega, sigma):
        return pkpd.PopulationModel(OneCompartmentOral(), dict(zip(theta_names, theta)),
                                    pd.DataFrame(omega, index=list(eta_names), columns=list(eta_names)),
                                    pkpd.ExponentialError(math.sqrt(sigma[0, 0]), zero_prediction=0.025),
                                    individual=individual,
                                    transforms=_positive((1, 2, 3)))

    def to_nonmem(theta, omega, error):
        return [theta[k] for k in theta_names], np.asarray(omega), np.array([[error["SD"] ** 2]])

    def se_to_nonmem(fit):
        rep = reported_se(fit)
        return ([rep[k] for k in theta_names], _se_omega(rep, eta_names),
                np.array([[2 * fit.error["SD"] * rep["sigma_SD"]]]))

    return Run(name, "FOCE", data, _reference(name), theta_names, eta_names, build, to_nonmem, se_to_nonmem,
               source="pharmpy/pharmpy@22897db06f978f3783975d6d8e51ca22b7d59841 tests/testdata/nonmem/models/mox1.mod")


# ---------------------------------------------------------------------------------------------------------
# Between-occasion variability: declared models (``iov=pkpd.IOV(...)``), no ``individual`` function
def _iov_maps(theta_names, eta_names, iov_names, occasions, error_term, by_occasion):
    """``to_nonmem`` and ``se_to_nonmem`` of a run with IOV. pkpd's Omega has the between-subject block,
    then one occasion's IOV block (``IOV_<name>``); NONMEM's the between-subject block, then one ETA per IOV effect
    and occasion: occasion by occasion (``by_occasion``: a ``BLOCK(m)`` per occasion, ``SAME`` after the first) or
    effect by effect (a ``BLOCK(1)`` + ``SAME`` per effect)."""
    q, m, k = len(eta_names), len(iov_names), len(occasions)

    def position(a, o):
        return q + (o * m + a if by_occasion else a * k + o)

    def expand(small):
        big = np.zeros((q + m * k, q + m * k))
        big[:q, :q] = small[:q, :q]
        for a in range(m):
            for b in range(m):
                for o in range(k):
                    big[position(a, o), position(b, o)] = small[q + a, q + b]
        return big

    def to_nonmem(theta, omega, error):
        return [theta[n] for n in theta_names], expand(np.asarray(omega)), np.array([[error[error_term] ** 2]])

    def se_to_nonmem(fit):                 # the runs have no $COV
        raise NotImplementedError

    return to_nonmem, se_to_nonmem


def pheno_iov() -> Run:
    """pheno_real's data and structure without covariates, with IOV. ``$PK``: IOV_1 = ETA(3) if FA1 = 0, ETA(5) if
    FA1 = 1 (IOV_2 likewise with ETA(4), ETA(6)); CL=THETA(1)*EXP(ETA(1)+IOV_1); V=THETA(2)*EXP(ETA(2)+IOV_2);
    S1=V. ``$OMEGA BLOCK(2)`` (CL, V), ``BLOCK(2)`` (IOV CL, V; FA1 = 0), ``BLOCK(2) SAME`` (FA1 = 1): pkpd's
    ``IOV(block, column="FA1")``, the occasion of a record its FA1 value. FA1 alternates between dose records
    (1) and most observations (0), so the parameters change at almost every record; NONMEM evaluates $PK at each
    record and advances to it with that record's values, as pkpd's ``carry="nocb"``. ``$ERROR``: Y=F+F*EPS(1)."""
    name = "pheno_iov"
    frame = read_data(HERE / name / "pheno.dta", "ID TIME AMT WGT APGR DV FA1", ignore="@")
    data = pkpd.read_nonmem(frame)
    theta_names, eta_names, iov_names = ("CL", "V"), ("CL", "V"), ("CL", "V")
    to_nonmem, se_to_nonmem = _iov_maps(theta_names, eta_names, iov_names, (0, 1), "CV", by_occasion=True)

    def build(theta, omega, sigma):
        omega = np.asarray(omega)
        return pkpd.PopulationModel(OneCompartment(), dict(zip(theta_names, theta)),
                                    pd.DataFrame(omega[:2, :2], index=list(eta_names), columns=list(eta_names)),
                                    pkpd.ProportionalError(math.sqrt(sigma[0, 0])),
                                    iov=pkpd.IOV(pd.DataFrame(omega[2:4, 2:4], index=list(iov_names),
                                                              columns=list(iov_names)), column="FA1"))

    return Run(name, "FOCEI", data, _reference(name), theta_names, eta_names + ("IOV_CL", "IOV_V"), build,
               to_nonmem, se_to_nonmem, covariance="",
               source="pharmpy/pharmpy@435dd66ecfc0532db4b8f5de2cea0afb1ecb4d84 tests/testdata/nonmem/qa/iov.mod")


def psn_mox1_iov_ltbs() -> Run:
    """mox1_ltbs with IOV and a lag time. ``$PK``: VIS3 = 1 if VISI = 3, VIS8 = 1 if VISI = 8;
    KPCL=VIS3*ETA(4)+VIS8*ETA(5); KPKA=VIS3*ETA(6)+VIS8*ETA(7); CL=THETA(1)*EXP(ETA(1)+KPCL); V=THETA(2)*EXP(ETA(2));
    KA=THETA(3)*EXP(ETA(3)+KPKA); ALAG1=THETA(4); S2=V: pkpd's ``IOV({"CL": ..., "KA": ...}, column="VISI",
    occasions=(3, 8))``. ``$OMEGA BLOCK(2)`` (CL, V), ``BLOCK(1)`` KA, ``BLOCK(1)`` IOV CL + ``SAME``, ``BLOCK(1)``
    IOV KA + ``SAME``. ``$ERROR`` as mox1_ltbs: ``ExponentialError(zero_prediction=0.025)``; FOCE (no
    interaction). ``$INPUT`` drops EVID and CMT: doses are the records with AMT > 0, into the depot."""
    name = "psn_mox1_iov_ltbs"
    data = _mox_ltbs_data(name)
    theta_names, eta_names, iov_names = ("CL", "V", "KA", "ALAG1"), ("CL", "V", "KA"), ("CL", "KA")
    to_nonmem, se_to_nonmem = _iov_maps(theta_names, eta_names, iov_names, (3, 8), "SD", by_occasion=False)

    def build(theta, omega, sigma):
        omega = np.asarray(omega)
        iov = {"CL": float(omega[3, 3]), "KA": float(omega[5, 5])}     # ETA(4) and ETA(6): occasion VISI = 3
        return pkpd.PopulationModel(OneCompartmentOral(), dict(zip(theta_names, theta)),
                                    pd.DataFrame(omega[:3, :3], index=list(eta_names), columns=list(eta_names)),
                                    pkpd.ExponentialError(math.sqrt(sigma[0, 0]), zero_prediction=0.025),
                                    iov=pkpd.IOV(iov, column="VISI", occasions=(3, 8)))

    return Run(name, "FOCE", data, _reference(name), theta_names, eta_names + ("IOV_CL", "IOV_KA"), build,
               to_nonmem, se_to_nonmem, covariance="",
               source="UUPharmacometrics/PsN@d45819faa9aff15bce57b701130453d240065a52 test/test_files/mox1.mod")


RUNS = {f.__name__: f for f in (pheno_real, warfarin_run000, bauer504, metrumrg_1005, mox2_fo, mox1_ltbs,
                                pheno_iov, psn_mox1_iov_ltbs)}


def load(name: str) -> Run:
    return RUNS[name]()
