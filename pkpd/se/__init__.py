"""The status-epilepticus (SE) application, built on the generic toolkit as a user's own script would be.

The generic toolkit (models, physiology, effects, engine, population, trials, plot) never imports this
package; it imports only their public names.

- :mod:`pkpd.se.defaults` -- every SE number in one table (value, unit, tag, source);
- :mod:`pkpd.se.scenarios` -- the composed SE model (seizure balance, receptor trafficking, chloride, drug
  PK behind the blood-brain barrier and PD on unbound brain concentrations), typical patients, virtual cohorts by
  treatment delay and dose (termination, respiratory depression, paradoxical worsening) and polytherapy;
- :mod:`pkpd.se.guideline` -- the guideline sequence to burst suppression: refractory and super-refractory SE;
- :mod:`pkpd.se.population` -- virtual SE patients as a parameter source for :func:`pkpd.run_trial`;
- :mod:`pkpd.se.calibration` -- trial protocols (RAMPART, ESETT, VA Cooperative) and the calibration;
- :mod:`pkpd.se.targets` -- which clinical numbers set parameters and which only test the model
  (``validation_targets.toml``, fixed before calibrating);
- :mod:`pkpd.se.demo` -- ``pkpd demo``: the loading-dose timing story.

``pkpd.se.scenarios``, ``pkpd.se.calibration``, ``pkpd.se.demo`` and ``pkpd.trials.se_population`` still work (they
are these modules).
"""
