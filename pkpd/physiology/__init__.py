"""Mechanisms as components for :func:`pkpd.compose`: enzyme turnover (induction, inactivation,
inhibition), the well-stirred liver, P-glycoprotein at the blood-brain barrier, GABA-A and NMDA receptor
trafficking, and intracellular chloride with the E_GABA functions (Nernst, GHK, chord conductance)."""

from .chloride import RT_F, Chloride, e_gaba, ghk, nernst
from .enzymes import EnzymeTurnover, Inactivation, Induction, WellStirredLiver
from .receptors import GabaAReceptors, NmdaReceptors
from .seizure import TERMINATION_THRESHOLD, DirectEffect, ImposedSeizure, NmdaChannelBlock, Seizure, terminated
from .transporters import BloodBrainBarrier, BrainPgp, PgpInhibition

__all__ = [
    "EnzymeTurnover",
    "Induction",
    "Inactivation",
    "WellStirredLiver",
    "BrainPgp",
    "BloodBrainBarrier",
    "PgpInhibition",
    "GabaAReceptors",
    "NmdaReceptors",
    "Chloride",
    "nernst",
    "ghk",
    "e_gaba",
    "RT_F",
    "Seizure",
    "ImposedSeizure",
    "NmdaChannelBlock",
    "DirectEffect",
    "terminated",
    "TERMINATION_THRESHOLD",
]
