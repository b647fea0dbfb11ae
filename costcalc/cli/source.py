"""SOURCE of `report` and `usage init`: an inventory file, or a registry TARGET scanned on the fly.

A SOURCE is a file when one exists there, when it ends in `.json`, or when its first component
cannot be a registry host. That is Docker's rule for image references: a registry host holds a
dot or a port, or is `localhost` (`examples/fleet.jsn` names no registry, `ghcr.io/acme` does).
A file that is not there is said so, with the nearest name in its directory, instead of being
tried as a registry called `examples`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from costcalc.errors import InputError, InvalidReference

if TYPE_CHECKING:
    from costcalc.inventory.model import Inventory
    from costcalc.registry.options import ScanOptions

# How alike a file name must be to the one given to be offered instead (difflib's ratio).
_NEAR = 0.75


def is_file_source(source: str) -> bool:
    """True when SOURCE names an inventory file rather than a registry target."""
    if Path(source).exists() or source.lower().endswith(".json"):
        return True
    first, slash, _ = source.removeprefix("https://").removeprefix("http://").partition("/")
    looks_like_host = "." in first or ":" in first or first.lower() == "localhost" or first.startswith("[")
    if not looks_like_host or first in (".", ".."):
        return True
    # One component with a dot is a host name (`registry.example.com`) unless a file of nearly
    # that name sits there (`fleet.jsn` beside `fleet.json`): a registry is never that close a typo.
    return not slash and _near_name(Path(source)) is not None


def load_source(source: str, options: ScanOptions | None, *, quiet: bool) -> Inventory:
    """SOURCE as an inventory file, or the inventory of a scan of it now (with OPTIONS)."""
    from costcalc.reference import parse_target

    if is_file_source(source):
        path = Path(source)
        if not path.exists() and not path.is_symlink():
            raise InputError(_missing(source))
        from costcalc.inventory import file as inventory_file

        return inventory_file.load(path)
    from costcalc.registry.ecr import parse_ecr_target

    try:
        if parse_ecr_target(source) is None:
            parse_target(source)
    except InvalidReference:
        raise InputError(
            f"{source}: no such inventory file, and not a registry target (HOST[:PORT][/NAMESPACE])."
        ) from None
    from costcalc.cli.scan import run_scan
    from costcalc.registry.options import ScanOptions

    return run_scan(source, options or ScanOptions(), quiet=quiet)


def _missing(source: str) -> str:
    near = _near_name(Path(source))
    if near is not None:
        return f"{source}: no such inventory file; did you mean {near}?"
    if source.lower().endswith(".json"):
        return f"{source}: no such inventory file."
    return f"{source}: no such inventory file, and not a registry target (HOST[:PORT][/NAMESPACE])."


def _near_name(path: Path) -> str | None:
    """The path of the file beside PATH whose name is nearest to PATH's, if one is near enough."""
    directory = path.parent
    try:
        names = [entry.name for entry in directory.iterdir() if entry.name != path.name]
    except OSError:
        return None
    near = difflib.get_close_matches(path.name, names, n=1, cutoff=_NEAR)
    return str(path.with_name(near[0])) if near else None
