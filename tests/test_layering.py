"""The layering of STYLE.md: the pure core never imports I/O or presentation libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "costcalc"
PURE = [
    "reference",
    "oci",
    "inventory",
    "figures",
    "inventory_file",
    "usage",
    "pricing",
    "book_file",
    "costs",
    "scenarios",
    "retention",
    "errors",
    "toml_lines",
    "scan_options",
]
FORBIDDEN_IN_PURE = {"httpx", "typer", "rich", "sqlite3", "subprocess", "socket", "asyncio"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def imported_costcalc_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("costcalc."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("costcalc."))
    return found


@pytest.mark.parametrize("module", PURE)
def test_pure_core_imports_no_io_or_presentation(module: str) -> None:
    path = PACKAGE / f"{module}.py"
    assert path.exists(), f"{path} is part of the pure core named in STYLE.md"
    assert imported_roots(path) & FORBIDDEN_IN_PURE == set()


def test_only_cli_imports_typer_and_only_cli_and_table_renderers_import_rich() -> None:
    for path in PACKAGE.rglob("*.py"):
        roots = imported_roots(path)
        relative = path.relative_to(PACKAGE).as_posix()
        if "typer" in roots:
            assert relative == "cli.py", f"{relative} imports typer"
        if "rich" in roots:
            assert relative == "cli.py" or (relative.startswith("render/") and "table" in relative), (
                f"{relative} imports rich"
            )


def test_errors_module_imports_nothing_from_costcalc() -> None:
    assert imported_costcalc_modules(PACKAGE / "errors.py") == set()


def test_pure_core_does_not_reach_into_the_io_edge() -> None:
    edge = {"cli", "scan", "registry", "transport", "auth", "listing", "cache"}
    for module in PURE:
        assert imported_costcalc_modules(PACKAGE / f"{module}.py") & edge == set(), module
