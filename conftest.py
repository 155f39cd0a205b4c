"""Test collection for the whole repository (doctests of pkpd/ and tests/)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
#: numba's cache index of each kernel module, beside it (``cache=True``): present once compiled on this machine
_KERNEL_CACHES = ("pkpd/engine/__pycache__/_kernel.*.nbi", "pkpd/engine/__pycache__/_expm_kernel.*.nbi",
                  "pkpd/engine/__pycache__/_bolus_kernel.*.nbi", "pkpd/estimation/__pycache__/_newton_kernel.*.nbi")


def pytest_configure(config):
    """On an empty kernel cache (a fresh clone) and several workers: compile the numba kernels in two processes at
    once (``tests/warm_kernels.py``) before the workers start, instead of in every worker and subprocess at the same
    time. Only the controller does it; a failure only means the tests compile as they go."""
    workers = getattr(config.option, "numprocesses", None)
    if hasattr(config, "workerinput") or not workers or importlib.util.find_spec("numba") is None:
        return
    if all(any(ROOT.glob(pattern)) for pattern in _KERNEL_CACHES):
        return
    script = ROOT / "tests" / "warm_kernels.py"
    runs = [subprocess.Popen([sys.executable, str(script), part], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for part in ("1", "2")]
    for run in runs:
        run.wait()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which writes the groups into the test IDs
def pytest_collection_modifyitems(items):
    """Scheduling on several workers (``--dist loadgroup``): the tests of a module stay together, as with
    ``loadscope``, so that a module's fixtures are computed once; each notebook is a group of its own, so that
    the notebooks (minutes together) run in parallel rather than queued behind each other on one worker."""
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        group = item.nodeid if module.endswith("test_notebooks.py") else module
        item.add_marker(pytest.mark.xdist_group(group))
    # the longest groups first (xdist hands out groups in collection order): a long module collected last would
    # keep one worker busy while the other idles
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in _LONGEST)


#: Modules whose tests take the longest (tens of seconds to minutes of CPU each; measured with --durations).
_LONGEST = ("tests/e2e/test_notebooks.py", "tests/validation/test_se_chain.py", "tests/e2e/test_demo.py",
            "tests/validation/test_se_composition.py", "tests/validation/test_trials_se.py",
            "tests/e2e/test_cli_fuzz.py", "tests/validation/test_seizure.py", "tests/unit/test_compiled_engine.py",
            "tests/validation/test_nonmem_runs.py")
