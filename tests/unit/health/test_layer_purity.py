"""The Lambda layer stays small: nothing under arsync.health imports numpy/scikit-learn/matplotlib."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import arsync.health

HEAVY = {"numpy", "sklearn", "scipy", "pandas", "matplotlib"}


def test_no_module_in_the_health_package_imports_heavy_libraries() -> None:
    package = Path(arsync.health.__file__).parent
    offenders = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in HEAVY]
    assert offenders == []


def test_importing_the_scoring_path_loads_no_heavy_module() -> None:
    script = (
        "import sys, arsync.health.scoring, arsync.health.model, arsync.health.features, arsync.health.throughput\n"
        "arsync.health.model.default_model()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))\n"
    )
    command = [sys.executable, "-c", script]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)  # noqa: S603
    assert completed.stdout.strip() == "[]"
