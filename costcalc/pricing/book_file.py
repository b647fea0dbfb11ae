"""Price book files: bundled books, TOML reading, ``extends`` merging, FILE:LINE validation (pure).

A price book is a TOML file read with ``parse_float=Decimal``; integers
become Decimals too, so no float ever reaches a price. Rules this module settles:

- ``extends`` inherits every field of another book except ``id``; tables merge key by key,
  anything else (arrays such as ``tiers``, ``sources``, ``notes``) replaces the parent's. A
  plan fee replaces the parent's in either form (``monthly_fee`` over ``daily_fee`` and back).
  A bare name is a bundled id; a value ending in ``.toml`` or holding a ``/`` is a path
  relative to the extending file.
- A book's ``id`` must match its file name: a mismatch is an error, because reports print
  the id and a user must be able to find the file from it.
- Storage tiers may give ``daily_price`` (the provider's per-day figure) instead of
  ``price``; a plan may give ``daily_fee`` instead of ``monthly_fee``.

The model and the arithmetic are ``costcalc.pricing.book``; the file's schema, which finds
every problem of a merged book, is ``costcalc.pricing.book_schema``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from costcalc import toml_lines
from costcalc.errors import InputError
from costcalc.pricing.book import Plan, PriceBook, PullLimits, Tier, TieredRate, per_month
from costcalc.pricing.book_schema import BookFile, EgressRate, PlanFile, StorageRate
from costcalc.pricing.validation import MAX_BOOK_BYTES, Problem, describe, located, read_limited
from costcalc.toml_lines import BARE_KEY, KeyPath, SyntaxProblem, key_lines, syntax_problem

_BUNDLED_PACKAGE = "costcalc.pricing_books"
_FEES = ("monthly_fee", "daily_fee")


def _bundled_dir() -> Traversable:
    try:
        return resources.files(_BUNDLED_PACKAGE)
    except ModuleNotFoundError:
        # A source checkout: setuptools maps costcalc.pricing_books onto pricing/ only when
        # it installs the package (pyproject.toml, [tool.setuptools.package-dir]).
        return Path(__file__).resolve().parents[2] / "pricing"


def bundled_book_ids() -> tuple[str, ...]:
    """Ids of the price books shipped with costcalc, sorted."""
    names = (entry.name for entry in _bundled_dir().iterdir() if entry.is_file())
    return tuple(sorted(name.removesuffix(".toml") for name in names if name.endswith(".toml")))


def load_book(id_or_path: str) -> PriceBook:
    """A bundled book by id, or the book in a TOML file; InputError listing every problem."""
    book_file = _locate(id_or_path)
    book, problems = _load(book_file)
    if book is None:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InputError(problems[0] + more, problems)
    return book


def validate_book_file(path: Path) -> list[str]:
    """Every problem of the book in PATH as "FILE:LINE: field: problem"; [] if it is valid."""
    book_file = _open_file(path, str(path))
    if isinstance(book_file, str):
        return [book_file]
    return _load(book_file)[1]


@dataclass(frozen=True)
class _BookFile:
    label: str  # as printed in messages
    identity: str  # for cycle detection
    text: str
    directory: Path | None  # where relative ``extends`` paths resolve; None for bundled books
    stem: str  # the id the file name asks for
    bundled: bool


@dataclass(frozen=True)
class _Layer:
    raw: dict[str, Any]
    book_file: _BookFile
    lines: dict[KeyPath, int]


def _is_path(ref: str) -> bool:
    return ref.endswith(".toml") or "/" in ref or "\\" in ref


def _locate(id_or_path: str) -> _BookFile:
    ids = bundled_book_ids()
    if not _is_path(id_or_path):
        if id_or_path in ids:
            return _open_bundled(id_or_path)
        if not Path(id_or_path).is_file():
            raise InputError(f'"{id_or_path}" is neither a bundled price book ({", ".join(ids)}) nor a file.')
    opened = _open_file(Path(id_or_path), id_or_path)
    if isinstance(opened, str):
        raise InputError(opened)
    return opened


def _open_bundled(book_id: str) -> _BookFile:
    entry = _bundled_dir().joinpath(f"{book_id}.toml")
    return _BookFile(
        label=str(entry),
        identity=f"bundled:{book_id}",
        text=entry.read_text(encoding="utf-8"),
        directory=None,
        stem=book_id,
        bundled=True,
    )


def _open_file(path: Path, label: str) -> _BookFile | str:
    """The file at PATH, or the sentence saying why it cannot be read."""
    try:
        text = read_limited(path, MAX_BOOK_BYTES, "a price book").decode("utf-8")
    except InputError as exc:
        return str(exc)
    except FileNotFoundError:
        return f"{label}: no such file."
    except IsADirectoryError:
        return f"{label}: is a directory, not a price book file."
    except UnicodeDecodeError:
        return f"{label}: is not UTF-8 text."
    except OSError as exc:
        return f"{label}: cannot be read ({exc.strerror})."
    return _BookFile(
        label=label,
        identity=str(path.resolve()),
        text=text,
        directory=path.parent,
        stem=path.stem,
        bundled=False,
    )


def _load(book_file: _BookFile) -> tuple[PriceBook | None, list[str]]:
    problems: list[str] = []
    layers = _chain(book_file, problems)
    if layers is None:
        return None, problems
    merged, owner = _merge(layers)
    try:
        checked = BookFile.model_validate(merged, context={"stem": book_file.stem})
    except ValidationError as exc:
        return None, _format(located(exc), layers, owner)
    path = f"bundled:{book_file.stem}" if book_file.bundled else book_file.label
    return _build(checked, path), []


def _parse(book_file: _BookFile, problems: list[str]) -> dict[str, Any] | None:
    try:
        raw = toml_lines.loads(book_file.text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(_syntax_problem(book_file, syntax_problem(exc, book_file.text)))
        return None
    converted: dict[str, Any] = _decimal_ints(raw)
    return converted


def _syntax_problem(book_file: _BookFile, problem: SyntaxProblem) -> str:
    if problem.column is not None:
        return f"{book_file.label}:{problem.line}: toml: {problem.reason} (column {problem.column})"
    return f"{book_file.label}:{problem.line}: toml: {problem.reason} at the end of the file"


def _decimal_ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _decimal_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decimal_ints(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def _chain(book_file: _BookFile, problems: list[str]) -> list[_Layer] | None:
    """The book and its ``extends`` ancestors, the book first; None after a problem."""
    layers: list[_Layer] = []
    current = book_file
    while True:
        if any(layer.book_file.identity == current.identity for layer in layers):
            cycle = " -> ".join([layer.book_file.label for layer in layers] + [current.label])
            problems.append(_at(layers[-1], ("extends",), f"cycle: {cycle}"))
            return None
        raw = _parse(current, problems)
        if raw is None:
            return None
        layer = _Layer(raw, current, key_lines(current.text))
        layers.append(layer)
        parent_ref = raw.get("extends")
        if parent_ref is None:
            return layers
        parent = _open_parent(layer, parent_ref)
        if isinstance(parent, str):
            problems.append(parent)
            return None
        current = parent


def _open_parent(layer: _Layer, ref: Any) -> _BookFile | str:
    if not isinstance(ref, str) or not ref:
        return _at(layer, ("extends",), f"must be a bundled id or a .toml path, not {describe(ref)}")
    ids = bundled_book_ids()
    if not _is_path(ref):
        if ref in ids:
            return _open_bundled(ref)
        return _at(
            layer,
            ("extends",),
            f'unknown price book "{ref}": bundled ids are {", ".join(ids)}; a file path must end in .toml',
        )
    if layer.book_file.directory is None:
        return _at(layer, ("extends",), "a bundled book can only extend another bundled book")
    path = layer.book_file.directory / ref
    opened = _open_file(path, str(path))
    if isinstance(opened, str):
        return _at(layer, ("extends",), f'unknown parent "{ref}": {opened}')
    return opened


def _at(layer: _Layer, path: KeyPath, message: str) -> str:
    return f"{layer.book_file.label}:{layer.lines.get(path, 1)}: {_field(path)}: {message}"


def _merge(layers: list[_Layer]) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    """Overlay the chain from the root ancestor down; OWNER maps each path to its layer index."""
    merged: dict[str, Any] = {}
    owner: dict[KeyPath, int] = {}
    for index in range(len(layers) - 1, -1, -1):
        raw = layers[index].raw
        if index > 0:  # a parent's own id and extends are never inherited
            raw = {key: value for key, value in raw.items() if key not in ("id", "extends")}
        merged = _overlay(_drop_replaced_fee(merged, raw, owner), raw, (), owner, index)
    return merged, owner


def _drop_replaced_fee(merged: dict[str, Any], top: dict[str, Any], owner: dict[KeyPath, int]) -> dict[str, Any]:
    """MERGED without its plan fee when TOP gives one: a monthly_fee replaces a daily_fee and back."""
    plan, new_plan = merged.get("plan"), top.get("plan")
    if not (isinstance(plan, dict) and isinstance(new_plan, dict)):
        return merged
    if not any(key in new_plan for key in _FEES):
        return merged
    for key in _FEES:
        owner.pop(("plan", key), None)
    return {**merged, "plan": {key: value for key, value in plan.items() if key not in _FEES}}


def _overlay(
    base: dict[str, Any],
    top: dict[str, Any],
    path: KeyPath,
    owner: dict[KeyPath, int],
    index: int,
) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        sub = (*path, key)
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            owner[sub] = index
            merged[key] = _overlay(old, value, sub, owner, index)
            continue
        for stale in [p for p in owner if p[: len(sub)] == sub]:
            del owner[stale]
        _claim(value, sub, owner, index)
        merged[key] = value
    return merged


def _claim(value: Any, path: KeyPath, owner: dict[KeyPath, int], index: int) -> None:
    owner[path] = index
    items: Iterable[tuple[str | int, Any]] = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        _claim(item, (*path, key), owner, index)


def _format(found: list[Problem], layers: list[_Layer], owner: dict[KeyPath, int]) -> list[str]:
    located: list[tuple[int, int, int, str]] = []
    for order, (path, message) in enumerate(found):
        index, line = 0, 1
        for length in range(len(path), 0, -1):
            prefix = path[:length]
            if prefix in owner and prefix in layers[owner[prefix]].lines:
                index, line = owner[prefix], layers[owner[prefix]].lines[prefix]
                break
        text = f"{layers[index].book_file.label}:{line}: {_field(path)}: {message}"
        located.append((index, line, order, text))
    return [text for *_, text in sorted(located)]


def _field(path: KeyPath) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = part if BARE_KEY.fullmatch(part) else f'"{part}"'
            text += f".{shown}" if text else shown
    return text or "book"


def _build(book: BookFile, path: str) -> PriceBook:
    pull_limits = book.pull_limits
    return PriceBook(
        id=book.id,
        name=book.name,
        provider=book.provider,
        region=book.region,
        currency=book.currency,
        unit=book.unit,
        dedup_scope=book.dedup_scope,
        effective_date=book.effective_date,
        sources=book.sources,
        notes=book.notes,
        discount_pct=book.discount_pct,
        storage=_build_rate(book.storage),
        plan=None if book.plan is None else _build_plan(book.plan),
        pull_limits=None if pull_limits is None else PullLimits(**pull_limits.model_dump()),
        egress={name: _build_rate(rate) for name, rate in book.egress.items()},
        extends=book.extends,
        path=path,
    )


def _build_rate(rate: StorageRate | EgressRate) -> TieredRate:
    tiers = []
    for tier in rate.tiers:
        daily = getattr(tier, "daily_price", None)
        price = per_month(daily) if daily is not None else tier.price
        assert price is not None  # StorageTier's rules: price or daily_price
        tiers.append(Tier(up_to=tier.up_to, price=price, daily_price=daily))
    return TieredRate(free=rate.free, tiers=tuple(tiers), limit=getattr(rate, "limit", None))


def _build_plan(plan: PlanFile) -> Plan:
    daily = plan.daily_fee
    monthly = per_month(daily) if daily is not None else plan.monthly_fee
    assert monthly is not None  # PlanFile's rules: monthly_fee or daily_fee
    return Plan(
        monthly_fee=monthly,
        included_storage=plan.included_storage,
        daily_fee=daily,
        proration_days=plan.proration_days,
        storage_limit=plan.storage_limit,
    )
