"""The logistic function of model code (:mod:`pkpd._internal.logistic`): scipy.special.expit's numbers without
importing scipy.special, and one traced operation."""

import subprocess
import sys
import warnings

import numpy as np
from scipy import special

from pkpd._internal.logistic import expit
from pkpd.engine._trace import Traced, _Graph


def test_expit_is_scipys_to_the_bit():
    x = np.concatenate([np.random.default_rng(7).normal(0.0, 40.0, 100_000),
                        [0.0, -0.0, 1e-300, -745.0, -800.0, 800.0, 36.9, -36.9, np.inf, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # exp(800) overflows quietly: the logistic is 0
        ours = expit(x)
    assert np.array_equal(ours, special.expit(x))
    assert float(expit(-800.0)) == 0.0 and float(expit(800.0)) == 1.0 and float(expit(0.0)) == 0.5
    assert np.isnan(expit(np.nan))
    assert np.array_equal(expit([[-1.0, 2.0]]), special.expit([[-1.0, 2.0]]))   # any shape, a list too


def test_a_traced_array_records_one_expit():
    graph = _Graph()
    x = Traced(graph, np.array([graph.leaf("Y0")], dtype=object))
    y = expit(x / 2.0)
    assert isinstance(y, Traced) and y.nodes[0].op == "expit"
    assert y.nodes[0] is special.expit(x / 2.0).nodes[0]          # the node scipy's ufunc records


def test_tracing_and_checking_the_seizure_model_leaves_scipy_special_unimported():
    """The status-epilepticus model is traced and checked against its numpy right-hand side each time a process
    first runs it compiled: neither imports scipy.special."""
    probe = ("import sys; from pkpd.se import scenarios; from pkpd.engine._compiled import equations_of; "
             "equations_of(scenarios.se_model(('midazolam', 'ketamine'))); print('scipy.special' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
