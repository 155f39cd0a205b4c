"""Mechanisms that change exposure, as components for :func:`pkpd.compose`: enzyme turnover (induction,
inactivation, inhibition), the well-stirred liver, and P-glycoprotein at the blood-brain barrier."""

from .enzymes import EnzymeTurnover, Inactivation, Induction, WellStirredLiver
from .transporters import BrainPgp, PgpInhibition

__all__ = ["EnzymeTurnover", "Induction", "Inactivation", "WellStirredLiver", "BrainPgp", "PgpInhibition"]
