"""The layering of docs/architecture.md, checked over every import form of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "costcalc"

# The pure core: no network, no terminal, no processes.
PURE_PACKAGES = ("inventory", "usage", "pricing", "report", "scenarios")
PURE_MODULES = ("errors.py", "units.py", "reference.py", "toml_lines.py")
FORBIDDEN_IN_PURE = {"httpx", "typer", "rich", "sqlite3", "subprocess", "socket", "asyncio", "boto3", "h2"}

# Which top-level costcalc parts each part may import (besides itself).
ALLOWED = {
    "errors": set(),
    "units": {"errors"},
    "reference": {"errors"},
    "toml_lines": {"errors"},
    "inventory": {"errors", "units", "reference"},
    "usage": {"errors", "units", "reference", "toml_lines", "inventory", "pricing"},
    "pricing": {"errors", "units", "toml_lines"},
    "scenarios": {"errors", "units", "reference", "toml_lines", "inventory", "pricing", "usage"},
    "report": {"errors", "units", "reference", "inventory", "pricing", "usage", "scenarios"},
    "render": {"errors", "units", "report", "pricing", "inventory", "scenarios", "usage"},
    "registry": {"errors", "units", "reference", "inventory"},
    "cli": {
        "errors",
        "units",
        "reference",
        "toml_lines",
        "inventory",
        "usage",
        "pricing",
        "report",
        "scenarios",
        "render",
        "registry",
    },
}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__main__.py",) and p != PACKAGE / "__init__.py")


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imported_names(path: Path) -> set[str]:
    """Every absolute module name the file imports, in any form, including `from costcalc import x`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                base = ".".join(package) + (f".{node.module}" if node.module else "")
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def costcalc_parts(path: Path) -> set[str]:
    parts = set()
    for name in imported_names(path):
        pieces = name.split(".")
        if pieces[0] == "costcalc" and len(pieces) > 1 and pieces[1] != "__version__":
            parts.add(pieces[1].removesuffix(".py"))
    return parts


def roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_names(path)}


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_each_part_imports_only_the_parts_below_it(path: Path) -> None:
    part = part_of(path)
    assert part in ALLOWED, f"{part} is a new part of costcalc: place it in the layering"
    extra = costcalc_parts(path) - ALLOWED[part] - {part}
    assert extra == set(), f"{path.relative_to(PACKAGE)} reaches {sorted(extra)}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_pure_core_imports_no_io_or_presentation(path: Path) -> None:
    if part_of(path) in PURE_PACKAGES or path.relative_to(PACKAGE).as_posix() in PURE_MODULES:
        assert roots(path) & FORBIDDEN_IN_PURE == set()


def test_only_cli_imports_typer_and_only_cli_and_table_renderers_import_rich() -> None:
    for path in modules():
        found = roots(path)
        relative = path.relative_to(PACKAGE).as_posix()
        if "typer" in found:
            assert relative.startswith("cli/"), f"{relative} imports typer"
        if "rich" in found:
            assert relative.startswith(("cli/", "render/")), f"{relative} imports rich"


def test_the_detector_sees_every_import_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from costcalc import registry\nimport costcalc.cli.app\nfrom costcalc.render.json import x\n"
        "def f():\n    from costcalc.report import build\n",
        encoding="utf-8",
    )
    assert costcalc_parts(sample) == {"registry", "cli", "render", "report"}


def test_no_import_cycles_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    known = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts) for p in modules()}
    for path in modules():
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        graph[name] = {n for n in imported_names(path) if n in known and n != name}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, nxt]))
            if not state.get(nxt):
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in graph:
        if not state.get(node):
            visit(node, [])
