"""The package's layers hold: no module imports a private name (``_x``) or a private module from another package.

A package exposes what other packages need through its ``__init__``; what it keeps private can change without
breaking them. ``pkpd._internal`` is the exception by design: it is the floor every layer stands on (number checks,
the column vocabulary, safe terminal text), private to pkpd as a whole rather than to one package. The layer and no-cycle contracts themselves are checked by ``lint-imports`` (import-linter, the
``[tool.importlinter]`` section of pyproject.toml), here and in ``.ci/run``.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pkpd"


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(module: str) -> str:
    """The top-level unit a module belongs to: ``pkpd.engine._ode`` -> ``pkpd.engine``; ``pkpd.dosing`` itself."""
    return ".".join(module.split(".")[:2])


def _private_imports_across_packages(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        here = _module_name(path, root)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".") if path.name == "__init__.py" else here.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                target, names = None, [alias.name for alias in node.names]
            else:
                continue
            targets = [(target, name) for name in names] if target else [(name, "") for name in names]
            for module, name in targets:
                if (not module.startswith("pkpd") or _package_of(module) in (_package_of(here), "pkpd._internal")):
                    continue
                private_module = any(part.startswith("_") for part in module.split(".")[1:])
                private_name = name.startswith("_") and not name.startswith("__")
                if private_module or private_name:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}: {module} import {name}")
    return found


def test_no_module_imports_a_private_name_from_another_package():
    found = _private_imports_across_packages()
    assert not found, "private imports across packages:\n" + "\n".join(found)


def test_the_check_finds_a_private_import(tmp_path):
    """The walk above can fail: a planted private import is reported."""
    package = tmp_path / "pkpd"
    (package / "engine").mkdir(parents=True)
    (package / "plot").mkdir()
    (package / "engine" / "__init__.py").write_text("")
    (package / "plot" / "__init__.py").write_text("from ..engine._ode import ode_states\nfrom ..engine import _x\n")
    found = _private_imports_across_packages(package)
    assert [f.split(": ", 1)[1] for f in found] == ["pkpd.engine._ode import ode_states", "pkpd.engine import _x"]


def test_the_import_contracts_hold():
    """``lint-imports``: the layers of pyproject.toml, from pkpd.cli down to pkpd._internal, and no cycles."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if lint is None:
        pytest.fail("lint-imports is not installed: `pip install -e '.[test]'` installs import-linter")
    run = subprocess.run([lint, "--no-cache"], cwd=PACKAGE.parent, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
