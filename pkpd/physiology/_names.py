"""Qualified names of the quantities the fixed-prefix neuro components provide (one home; the components
expose them as class attributes: ``Seizure.ACTIVITY``, ``GabaAReceptors.SURFACE_A235``, ``Chloride.E_GABA``)."""

SEIZURE_ACTIVITY = "SEIZURE.ACTIVITY"
SEIZURE_DRIVE = "SEIZURE.DRIVE"
GABAA_SURFACE_A1 = "GABAA.SURFACE_A1"
GABAA_SURFACE_A235 = "GABAA.SURFACE_A235"
GABAA_SURFACE = "GABAA.SURFACE"
NMDA_SURFACE = "NMDA.SURFACE"
CHLORIDE_E_GABA = "CHLORIDE.E_GABA"
