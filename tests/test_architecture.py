"""Data moves one way: devices ← edge, devices ← server; edge and server never import each other."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "devices": {"edge", "server", "carewatch"},
    "edge": {"server", "carewatch"},
    "server": {"edge", "carewatch"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a module imports, including imports inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_upstream(package: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"no modules in {package}/"
    wrong = {str(m.relative_to(ROOT)): sorted(imported_packages(m) & FORBIDDEN[package]) for m in modules}
    assert {m: bad for m, bad in wrong.items() if bad} == {}


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from server.db import Base\n    import edge.agent\n")
    assert imported_packages(module) == {"server", "edge"}
