"""Test collection for the whole repository (doctests of pkpd/ and tests/)."""

# Modules kept only so old imports work: they replace themselves by the moved module, whose doctests are
# collected where it lives now (pkpd/se/).
collect_ignore = ["pkpd/scenarios.py", "pkpd/calibration.py", "pkpd/demo.py",
                  "pkpd/pd.py"]  # renamed pkpd/effects.py: importing it raises ImportError naming the new name
