"""The agent framework stays free of Django, Huey and Channels."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"django", "huey", "channels"}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_no_module_of_agents_imports_a_web_framework():
    files = sorted((ROOT / "agents").rglob("*.py"))
    assert len(files) > 5
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN
        )
        for path in files
    }
    assert {path: found for path, found in offenders.items() if found} == {}


@pytest.mark.slow
def test_importing_agents_loads_none_of_them():
    check = (
        "import sys, agents, agents.models.anthropic, agents.models.testing, agents.testing; "
        f"print(sorted(m for m in {sorted(FORBIDDEN)!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
