"""Scenario files: deep nesting, wrong types and out-of-range numbers are refused by key, before anything is
simulated (issue 15; limits in :mod:`pkpd.cli.scenario_file`). Every test asserts the exact key the message names:
``FILE: KEY: what was expected``."""

from __future__ import annotations

import pytest

from pkpd.cli import scenario_file as sf
from pkpd.cli.scenario_file import ScenarioError, parse_simulate, parse_trial

SIM = 'model = "one_compartment"\ntimes = [0, 1, 2]\n[[doses]]\namount = 100\n'
SIM_ORAL = 'model = "one_compartment_oral"\ntimes = [0, 1, 2]\n[[doses]]\namount = 100\nroute = "oral"\n'
TRIAL_SE = ('times = [0, 1]\n[population]\nn = 5\n[model]\nname = "status_epilepticus"\n'
            '[[arms.a.doses]]\ndrug = "midazolam"\nroute = "im"\namount = 10\n'
            '[[endpoints]]\ntype = "terminated_by"\ntime = 1\n')
TRIAL_LIB = ('times = [0, 1, 2]\n[population]\nn = 5\n[model]\nname = "one_compartment"\n[model.iiv]\nCL = 0.3\n'
             '[[arms.a.doses]]\namount = 10\n[[endpoints]]\ntype = "cmax"\n')


def top(text: str, lines: str) -> str:
    """``text`` with ``lines`` (top-level keys) put first, before any [table]."""
    return lines + "\n" + text


def fails(parse, text: str, key: str, *fragments: str) -> str:
    """Parse ``text`` and assert one ScenarioError naming ``key``, with ``fragments`` in its message."""
    with pytest.raises(ScenarioError) as info:
        parse(text, "s.toml")
    message = str(info.value)
    assert message.startswith(f"s.toml: {key}: "), message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- deep nesting -----------------------------------------------------------------------------------
@pytest.mark.parametrize("body", ["[" * 3000 + "]" * 3000, "{a = " * 3000 + "1" + "}" * 3000])
def test_nesting_too_deep_for_the_parser_names_the_key_and_line(body):
    # tomllib recurses into nested arrays and inline tables: RecursionError is turned into the key's line
    fails(parse_simulate, top(SIM, "title = " + body), "title (line 1)", f"nested more than {sf.MAX_DEPTH}")
    fails(parse_simulate, SIM + "[regimens.x]\n# [[[[ a comment\nz = '[[[[[[['\nw = " + body,
          "regimens.x.w (line 8)", "levels deep")


def test_nesting_the_parser_reads_is_refused_by_key():
    depth = sf.MAX_DEPTH + 1
    fails(parse_simulate, top(SIM, "title = " + "[" * depth + "]" * depth), "title" + "[0]" * sf.MAX_DEPTH,
          f"nested more than {sf.MAX_DEPTH} levels deep")
    fails(parse_trial, TRIAL_SE + "[a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r]\nx = 1\n", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q",
          "levels deep")


# -- wrong types ------------------------------------------------------------------------------------
@pytest.mark.parametrize("old, new, key, fragment", [
    ("amount = 100", 'amount = "ten"', "doses[0].amount", "expected a finite number, got 'ten' (a string)"),
    ("amount = 100", "amount = [100]", "doses[0].amount", "(an array)"),
    ("amount = 100", "amount = true", "doses[0].amount", "(a boolean)"),
    ("amount = 100", "amount = 100\naddl = 1.5\nii = 1", "doses[0].addl", "expected an integer"),
    ("times = [0, 1, 2]", "times = {start = 0, stop = 2, step = {}}", "times.step", "(a table)"),
    ("times = [0, 1, 2]", "times = [0, 1979-05-27, 2]", "times[1]", "(date)"),
])
def test_wrong_types(old, new, key, fragment):
    fails(parse_simulate, SIM.replace(old, new), key, fragment)


def test_an_integer_too_large_for_a_float_is_not_a_crash():
    # float(10**400) raises OverflowError: this used to end as "simulate failed (OverflowError ...)"
    fails(parse_simulate, SIM.replace("amount = 100", "amount = 100\ntime = " + "1" * 401), "doses[0].time",
          "expected a finite number, got an integer of 401 digits")


# -- out-of-range numbers ---------------------------------------------------------------------------
@pytest.mark.parametrize("lines, key, fragment", [
    ("[parameters]\nCL = -1", "parameters.CL", "CL must be in [0, 1e+06] (L/h), got -1"),
    ("[parameters]\nV = 0", "parameters.V", "V must be in [1e-06, 1e+06] (L), got 0"),
    ("[parameters]\nKA = 1e9", "parameters.KA", "KA must be in [0, 1e+06] (1/h), got 1e+09"),
    ("[parameters]\nF1 = 2", "parameters.F1", "F1 must be in [0, 1] (dimensionless), got 2"),
    ("[iiv]\nCL = 3.5", "iiv.CL", "expected an SD of log <= 3, got 3.5"),
    ("[iiv]\nV = -0.1", "iiv.V", "expected an SD of log >= 0"),
])
def test_parameters_and_iiv_out_of_range(lines, key, fragment):
    fails(parse_simulate, SIM_ORAL + lines + "\n", key, fragment)


def test_drug_parameters_are_checked_under_the_name_written():
    text = top(SIM.replace('model = "one_compartment"', 'drug = "midazolam"'), "") + "[parameters]\nCL = -2\n"
    fails(parse_simulate, text, "parameters.CL", "MDZ.CL must be in [0, 1e+06] (L/h), got -2")


@pytest.mark.parametrize("times, key, fragment", [
    ("{start = 0, stop = 100000, step = 0.0001}", "times.step", "1e+09 output times is too many (at most 100000)"),
    ("{start = 0, stop = 1, step = 5e-324}", "times.step", "inf output times is too many"),   # was OverflowError
    ("{start = 0, stop = 1e9, step = 1e6}", "times.stop", "expected a time <= 100000 h, got 1e+09"),
    ("[0, 1e300]", "times[1]", "expected a time <= 100000 h"),
    ("[0, -1]", "times[1]", "expected a time >= 0 h"),
])
def test_time_grids(times, key, fragment):
    fails(parse_simulate, SIM.replace("[0, 1, 2]", times), key, fragment)


def test_a_list_of_too_many_times():
    times = "[" + ", ".join(str(i) for i in range(sf.MAX_TIMES + 1)) + "]"
    fails(parse_simulate, SIM.replace("[0, 1, 2]", times), "times", "100001 output times is too many")


def test_times_in_minutes_are_limited_in_minutes():
    text = top(SIM.replace("[0, 1, 2]", "[0, 7e6]"), 'time_unit = "min"')
    fails(parse_simulate, text, "times[1]", "expected a time <= 6e+06 min")


@pytest.mark.parametrize("dose, key, fragment", [
    ("amount = 1e300", "doses[0].amount", "expected a number <= 1e+09"),
    ("amount = 100\nmax_amount = -1", "doses[0].max_amount", "expected a number >= 0"),
    ("amount = 100\ntime = 1e12", "doses[0].time", "expected a time <= 100000 h"),
    ("amount = 100\nii = 1\naddl = 1000000000", "doses[0].addl", "expected an integer <= 100000"),
    ("amount = 100\nduration = 1e7", "doses[0].duration", "expected a time <= 100000 h"),
    ("amount = 100\nrate = 1e-300", "doses[0].rate", "the infusion of 100 mg would last 1e+302 h"),
    ("amount = 1\nper_kg = true\nrate = 1e-4", "doses[0].rate", "the infusion of 70 mg would last 7e+05 h"),
])
def test_doses_out_of_range(dose, key, fragment):
    fails(parse_simulate, SIM.replace("amount = 100", dose), key, fragment)


@pytest.mark.parametrize("weight, fragment", [("0", "expected a weight > 0 kg"), ("1e-300", ">= 0.1 kg"),
                                              ("1e300", "expected a weight <= 1000 kg")])
def test_weight(weight, fragment):
    text = top(SIM.replace('model = "one_compartment"', 'drug = "phenytoin"'), f"weight = {weight}")
    fails(parse_simulate, text, "weight", fragment)


def test_a_cohort_of_a_billion_subjects():
    fails(parse_simulate, top(SIM, "subjects = 1000000000"), "subjects", "at most 100000 subjects, got 1000000000")
    fails(parse_trial, TRIAL_SE.replace("n = 5", "n = 1000000000"), "population.n", "at most 10000000 subjects")
    with pytest.raises(ScenarioError, match=r"^s\.toml: --n: at most 10000000 subjects, got 1000000000$"):
        parse_trial(TRIAL_SE, "s.toml", n=10**9)


# -- trial ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("old, new, key, fragment", [
    ("name = \"status_epilepticus\"", "name = \"status_epilepticus\"\n[model.iiv]\nE0 = 4",
     "model.iiv.E0", "expected an SD of log <= 3, got 4"),
    ("name = \"status_epilepticus\"", "name = \"status_epilepticus\"\n[model.parameters]\n\"MDZ.CL\" = -5",
     'model.parameters."MDZ.CL"', "MDZ.CL must be in [0, 1e+06] (L/h), got -5"),
    ("n = 5", "n = 5\nweight = [70, 10, -20, 120]", "population.weight[2]", "lower bound >= 0.1 kg, got -20"),
    ("n = 5", "n = 5\nage = [45, 15, 18, 1e308]", "population.age[3]", "upper bound <= 150 years"),
    ("time = 1\n", "time = 1e300\n", "endpoints[0].time", "expected a time <= 100000 h"),
    ("amount = 10\n", "amount = 10\nrate = 1e-300\n", "arms.a.doses[0].rate", "would last 1e+301 h"),
    ("times = [0, 1]", "times = [0, 1]\n[options]\nrtol = 1e-20", "options.rtol", "expected a number >= 1e-13"),
    ("times = [0, 1]", "times = [0, 1]\n[options]\natol = 1e300", "options.atol", "expected a number <= 1"),
])
def test_status_epilepticus_trial_out_of_range(old, new, key, fragment):
    assert TRIAL_SE.count(old) == 1
    fails(parse_trial, TRIAL_SE.replace(old, new), key, fragment)


def test_reserved_endpoint_names():
    # pkpd.trials.TrialDesign refused them once the trial ran: "TrialDesign: endpoint name(s) ['ID'] are reserved"
    for name in ("ID", "arm"):
        fails(parse_trial, TRIAL_LIB.replace('type = "cmax"', f'type = "cmax"\nname = "{name}"'), "endpoints[0].name",
              f"'{name}' is reserved")


def test_library_model_trial():
    fails(parse_trial, TRIAL_LIB.replace("CL = 0.3", "CL = 0.3\n[model.parameters]\nV = -1"),
          "model.parameters.V", "V must be in [1e-06, 1e+06] (L), got -1")
    fails(parse_trial, TRIAL_LIB.replace("CL = 0.3", "CL = 30"), "model.iiv.CL", "SD of log <= 3")
    # without IIV the PopulationModel used to refuse with "omega must name at least one random effect"
    fails(parse_trial, TRIAL_LIB.replace("[model.iiv]\nCL = 0.3\n", ""), "model.iiv",
          "needs log-normal IIV", "[model.iiv] CL = 0.3")
    fails(parse_trial, TRIAL_LIB.replace('"one_compartment"', '"phenytoin"\nweight = 5000'), "model.weight",
          "expected a weight <= 1000 kg")


# -- memory: subjects x times x outputs, estimated before anything is allocated ---------------------
def test_simulate_memory_is_estimated_before_simulating():
    text = top(SIM.replace("[0, 1, 2]", "{start = 0, stop = 99999, step = 1}"), "subjects = 50000")
    # one_compartment: CENTRAL and CP; the table of the regimen: regimen, ID, TIME, CP; the simulation's: ID, TIME
    message = fails(parse_simulate, text, "subjects", "subjects x times x values = 50000 x 100000 x 8",
                    "more than the 2 GB limit", "reduce subjects", "times.step")
    assert "about 596 GB" in message
    # the same grid for 100 subjects is fine
    assert parse_simulate(top(SIM.replace("[0, 1, 2]", "{start = 0, stop = 99999, step = 1}"), "subjects = 100"),
                          "s.toml").subjects == 100


def test_simulate_memory_counts_regimens_and_outputs():
    regimens = "".join(f'[[regimens.r{i}.doses]]\namount = 100\n' for i in range(20))
    text = ('model = "parent_metabolite"\noutputs = ["CP", "CM", "DEPOT", "CENTRAL", "METABOLITE"]\nsubjects = 1000\n'
            'times = {start = 0, stop = 9999, step = 1}\n' + regimens)
    fails(parse_simulate, text, "subjects", "1000 x 10000 x 167")
    assert sf.simulate_memory(1000, 10000, 20, 5, 5) == 8 * 2 * 1000 * 10000 * (20 * 8 + 5 + 2)


def test_trial_memory_names_the_block_size_or_the_population():
    long = TRIAL_SE.replace("times = [0, 1]", "times = {start = 0, stop = 99999, step = 1}")
    message = fails(parse_trial, long.replace("n = 5", "n = 1000"), "options.block_size",
                    "subjects simulated together x times x values = 1000 x 100000 x",
                    "reduce options.block_size (default 1000) or the number of times (times.step, times.stop)")
    assert "more than the 2 GB limit" in message
    assert parse_trial(long.replace("n = 5", "n = 1000") + "[options]\nblock_size = 10\n", "s.toml")
    fails(parse_trial, TRIAL_SE.replace("n = 5", "n = 10000000"), "population.n",
          "subjects x values = 10000000 x 18 (covariates, endpoints of 1 arm(s))", "reduce population.n (or --n)")


# -- files ------------------------------------------------------------------------------------------
def test_a_huge_file_is_not_read(tmp_path):
    path = tmp_path / "big.toml"
    path.write_bytes(b"# " + b"x" * sf.MAX_FILE_BYTES + b"\n")
    with pytest.raises(ScenarioError, match=r"^big\.toml: larger than 10 MB"):
        sf.load_simulate(path)


# -- terminal safety: keys and values echoed escaped ------------------------------------------------
def test_a_key_with_an_escape_sequence_is_shown_escaped():
    message = fails(parse_simulate, top(SIM, '"\\u001b[2Jcolour" = 1'), '"\\x1b[2Jcolour"', "unknown key")
    assert "\x1b" not in message
    fails(parse_simulate, top(SIM, '"a\\nb\\t\\"c" = 1'), '"a\\nb\\t\\"c"', "unknown key")
    fails(parse_simulate, top(SIM, '"\\u202eevil" = 1'), '"\\u202eevil"', "unknown key")
    message = fails(parse_simulate, SIM.replace('"one_compartment"', '"\\u001b]0;title\\u0007"'), "model",
                    "unknown model '\\x1b]0;title\\x07'")
    assert "\x1b" not in message and "\x07" not in message


def test_the_command_line_shows_an_escaped_key_on_one_line(tmp_path, capsys):
    from pkpd.cli import main

    scenario = tmp_path / "s.toml"
    scenario.write_text(top(TRIAL_SE, "") + '[[arms."\\u001b[2J\\nred".doses]]\ndrug = "midazolam"\n'
                        'amount = 1\nroute = "iv"\ncolour = 1\n', encoding="utf-8")
    assert main(["trial", str(scenario), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ('pkpd: error: s.toml: arms."\\x1b[2J\\nred".doses[0].colour: unknown key in '
                            '[arms."\\x1b[2J\\nred".doses[0]]; expected one of: amount, per_kg, max_amount, time, '
                            'drug, route, cmt, duration, rate, ii, addl\n')
