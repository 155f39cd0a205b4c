"""``import pkpd`` imports numpy and pandas and pkpd's core modules; the heavy libraries, and pkpd's estimation,
population, trial, SE and plotting layers, wait until first use.

(The import time itself is measured by benchmarks/bench_import.py, not asserted here.)
"""

import subprocess
import sys

HEAVY = ("lmfit", "pint", "matplotlib", "dask", "numba", "scipy.special", "scipy.stats", "scipy.linalg",
         "scipy.optimize", "scipy.integrate", "scipy.sparse")


def test_import_pkpd_leaves_the_heavy_libraries_unimported():
    code = f"import sys, pkpd; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []


def test_a_lazy_module_imports_on_first_use_and_gives_the_real_function():
    code = ("import sys, pkpd, numpy as np; from pkpd._internal.lazy import special; before = 'scipy.special' in sys.modules; "
            "import scipy.special; print(before, special.expit is scipy.special.expit, float(special.logit(0.5)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "0.0"]


def test_the_upper_layers_import_on_first_use_of_a_public_name():
    code = ("import sys, pkpd; layers = ('pkpd.estimation', 'pkpd.population', 'pkpd.trials', 'pkpd.se', 'pkpd.plot', "
            "'pkpd.engine', 'pkpd.models.language'); print(*(m in sys.modules for m in layers)); f = pkpd.fit_population; "
            "print(f.__module__, pkpd.fitting is pkpd.estimation, pkpd.scenarios.__name__, 'IOV' in dir(pkpd)); "
            "print(pkpd.simulate.__module__, pkpd.simulate is pkpd.engine.simulate, pkpd.models.from_text.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["False False False False False False False", "pkpd.estimation.population_fit True pkpd.se.scenarios True",
                   "pkpd.engine.simulation True pkpd.models.language"]


def test_the_command_line_parser_leaves_the_estimation_layer_unimported():
    """Every ``pkpd`` command parses its arguments first: ``pkpd demo`` never needs the estimation package."""
    code = ("import sys; from pkpd.cli.main import build_parser; "
            "build_parser().parse_args(['demo', '--quiet']); print('pkpd.estimation' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() \
        == "False"
