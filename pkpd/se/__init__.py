"""The status-epilepticus (SE) application, built on the generic toolkit as a user's own script would be.

Today it holds the list of clinical targets of the SE model (:mod:`pkpd.se.targets`): which numbers set
parameters (calibration) and which only test the model (validation), fixed before the model is calibrated.
The SE scenarios, calibration and demo still live in :mod:`pkpd.scenarios`, :mod:`pkpd.calibration` and
:mod:`pkpd.demo` and move here next (issue 14).
"""
