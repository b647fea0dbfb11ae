"""Price book files: bundled books, TOML reading, ``extends`` merging, FILE:LINE validation (pure).

A price book is a TOML file (SPEC section 5) read with ``parse_float=Decimal``; integers
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

The model and the arithmetic are ``costcalc.pricing.book``.
"""

from __future__ import annotations

import datetime
import decimal
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from costcalc.errors import InputError
from costcalc.pricing.book import Plan, PriceBook, Tier, TieredRate, per_month, plain
from costcalc.toml_lines import BARE_KEY, KeyPath, SyntaxProblem, key_lines, syntax_problem

_BUNDLED_PACKAGE = "costcalc.pricing_books"
_ZERO = Decimal(0)

_Problem = tuple[KeyPath, str]


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
        text = path.read_text(encoding="utf-8")
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
    found = _check_book(merged, book_file.stem)
    if found:
        return None, _format(found, layers, owner)
    path = f"bundled:{book_file.stem}" if book_file.bundled else book_file.label
    return _build(merged, layers[0].raw.get("extends"), path), []


def _parse(book_file: _BookFile, problems: list[str]) -> dict[str, Any] | None:
    try:
        raw = tomllib.loads(book_file.text, parse_float=Decimal)
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
        return _at(layer, ("extends",), f"must be a bundled id or a .toml path, not {_describe(ref)}")
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


def _format(found: list[_Problem], layers: list[_Layer], owner: dict[KeyPath, int]) -> list[str]:
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


_BOOK_FIELDS = (
    "id",
    "name",
    "provider",
    "region",
    "currency",
    "unit",
    "dedup_scope",
    "effective_date",
    "sources",
    "notes",
    "discount_pct",
    "extends",
    "storage",
    "plan",
    "egress",
)
_REQUIRED = (
    "id",
    "name",
    "provider",
    "region",
    "currency",
    "unit",
    "dedup_scope",
    "effective_date",
    "sources",
)
_TIER_EXAMPLE = "{ up_to = 100, price = 0.1 }"
_FEES = ("monthly_fee", "daily_fee")
_CLASS_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def _check_book(raw: dict[str, Any], stem: str) -> list[_Problem]:
    out: list[_Problem] = []
    _unknown(raw, (), _BOOK_FIELDS, out)
    for key in (*_REQUIRED, "storage", "egress"):
        if key not in raw:
            out.append(((key,), "required field is missing"))
    for key in ("id", "name", "provider", "region", "currency"):
        _text(raw, key, out)
    book_id = raw.get("id")
    if isinstance(book_id, str) and book_id and book_id != stem:
        out.append(
            (
                ("id",),
                f'"{book_id}" does not match the file name "{stem}.toml": set id = "{stem}" or rename the file',
            )
        )
    currency = raw.get("currency")
    if isinstance(currency, str) and currency and not re.fullmatch(r"[A-Z]{3}", currency):
        out.append((("currency",), f'must be a three-letter ISO 4217 code such as "USD", got "{currency}"'))
    _choice(raw, "unit", ("GiB", "GB"), out)
    _choice(raw, "dedup_scope", ("registry", "repository"), out)
    date = raw.get("effective_date")
    if "effective_date" in raw and (not isinstance(date, datetime.date) or isinstance(date, datetime.datetime)):
        out.append((("effective_date",), f"must be a TOML date such as 2026-11-01, not {_describe(date)}"))
    _check_sources(raw, out)
    _check_notes(raw, out)
    if "discount_pct" in raw:
        discount = _number(raw["discount_pct"], ("discount_pct",), out)
        if discount is not None and discount > 100:
            out.append((("discount_pct",), f"must be between 0 and 100, got {plain(discount)}"))
    if "storage" in raw:
        _check_rate(raw["storage"], ("storage",), out, storage=True)
    if "plan" in raw:
        _check_plan(raw["plan"], out)
    if "egress" in raw:
        _check_egress(raw["egress"], out)
    return out


def _check_sources(raw: dict[str, Any], out: list[_Problem]) -> None:
    sources = raw.get("sources")
    if "sources" not in raw:
        return
    if not isinstance(sources, list):
        out.append((("sources",), f"must be an array of URLs, not {_describe(sources)}"))
    elif not sources:
        out.append((("sources",), "must list at least one URL where the prices were read"))
    for index, source in enumerate(sources if isinstance(sources, list) else []):
        if not isinstance(source, str) or not re.match(r"https?://\S+$", source):
            out.append((("sources", index), f"must be an http(s) URL, not {_describe(source)}"))


def _check_notes(raw: dict[str, Any], out: list[_Problem]) -> None:
    notes = raw.get("notes", [])
    if not isinstance(notes, list):
        out.append((("notes",), f"must be an array of sentences, not {_describe(notes)}"))
        return
    for index, note in enumerate(notes):
        if not isinstance(note, str):
            out.append((("notes", index), f"must be a string, not {_describe(note)}"))


def _check_rate(value: Any, path: KeyPath, out: list[_Problem], *, storage: bool) -> None:
    if not isinstance(value, dict):
        out.append((path, f"must be a table with free and tiers, not {_describe(value)}"))
        return
    _unknown(value, path, ("free", "tiers"), out)
    if "free" in value:
        _number(value["free"], (*path, "free"), out)
    tiers = value.get("tiers")
    tiers_path = (*path, "tiers")
    if "tiers" not in value:
        out.append((tiers_path, "required field is missing"))
        return
    if not isinstance(tiers, list):
        out.append(
            (
                tiers_path,
                f"must be an array of tables like {_TIER_EXAMPLE}, not {_describe(tiers)}",
            )
        )
        return
    if not tiers:
        out.append((tiers_path, "must list at least one tier (the last one without up_to)"))
        return
    previous = _ZERO
    unbounded: int | None = None
    for index, tier in enumerate(tiers):
        tier_path = (*tiers_path, index)
        if not isinstance(tier, dict):
            out.append(
                (
                    tier_path,
                    f"must be a table like {_TIER_EXAMPLE}, not {_describe(tier)}",
                )
            )
            continue
        _check_tier_price(tier, tier_path, out, storage=storage)
        if unbounded is not None:
            if unbounded == index - 1:
                out.append(
                    (
                        tier_path,
                        f"follows tiers[{unbounded}], which has no up_to: only the last tier may be unbounded",
                    )
                )
            continue
        if "up_to" not in tier:
            unbounded = index
            continue
        bound = _number(tier["up_to"], (*tier_path, "up_to"), out)
        if bound is None:
            continue
        if bound <= previous:
            after = f"the previous tier's up_to ({plain(previous)})" if index else "0"
            out.append(((*tier_path, "up_to"), f"must be greater than {after}, got {plain(bound)}"))
        previous = max(previous, bound)
        if index == len(tiers) - 1:
            out.append(
                (
                    (*tier_path, "up_to"),
                    f"the last tier must have no up_to: volume above {plain(previous)} would have no price",
                )
            )


def _check_tier_price(tier: dict[str, Any], path: KeyPath, out: list[_Problem], *, storage: bool) -> None:
    prices = ("price", "daily_price") if storage else ("price",)
    _unknown(tier, path, ("up_to", *prices), out)
    given = [key for key in prices if key in tier]
    if not given:
        out.append(((*path, "price"), "required field is missing"))
    elif len(given) > 1:
        out.append(((*path, "daily_price"), "give price or daily_price, not both"))
    for key in given:
        _number(tier[key], (*path, key), out)


def _check_plan(plan: Any, out: list[_Problem]) -> None:
    if not isinstance(plan, dict):
        out.append((("plan",), f"must be a table, not {_describe(plan)}"))
        return
    _unknown(plan, ("plan",), ("monthly_fee", "daily_fee", "included_storage"), out)
    fees = [key for key in ("monthly_fee", "daily_fee") if key in plan]
    if not fees:
        out.append((("plan",), "needs monthly_fee or daily_fee"))
    elif len(fees) > 1:
        out.append((("plan", "daily_fee"), "give monthly_fee or daily_fee, not both"))
    for key in (*fees, "included_storage"):
        if key in plan:
            _number(plan[key], ("plan", key), out)


def _check_egress(egress: Any, out: list[_Problem]) -> None:
    if not isinstance(egress, dict):
        out.append((("egress",), f"must be a table of egress classes, not {_describe(egress)}"))
        return
    for name, rate in egress.items():
        if not _CLASS_NAME.fullmatch(name):
            out.append(
                (
                    ("egress", name),
                    "a class name is lower-case words joined by hyphens, like same-region",
                )
            )
        _check_rate(rate, ("egress", name), out, storage=False)
    if "internet" not in egress:
        out.append(
            (
                ("egress", "internet"),
                "required egress class is missing: every book prices internet egress",
            )
        )


def _unknown(table: dict[str, Any], path: KeyPath, known: tuple[str, ...], out: list[_Problem]) -> None:
    for key in table:
        if key not in known:
            out.append(((*path, key), f"unknown field (expected one of: {', '.join(known)})"))


def _text(raw: dict[str, Any], key: str, out: list[_Problem]) -> None:
    if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
        out.append(((key,), f"must be a non-empty string, not {_describe(raw[key])}"))


def _choice(raw: dict[str, Any], key: str, choices: tuple[str, ...], out: list[_Problem]) -> None:
    if key in raw and raw[key] not in choices:
        options = " or ".join(f'"{choice}"' for choice in choices)
        out.append(((key,), f"must be {options}, not {_describe(raw[key])}"))


def _number(value: Any, path: KeyPath, out: list[_Problem]) -> Decimal | None:
    """VALUE if it is a finite number >= 0, else None after recording why."""
    if not isinstance(value, Decimal):
        hint = ""
        if isinstance(value, str):
            try:
                Decimal(value)
                hint = ": remove the quotes"
            except decimal.InvalidOperation:
                pass
        out.append((path, f"must be a number, not {_describe(value)}{hint}"))
        return None
    if not value.is_finite():
        out.append((path, f"must be a finite number, got {value}"))
        return None
    if value < 0:
        out.append((path, f"must be >= 0, got {plain(value)}"))
        return None
    return value


def _describe(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'a string ("{shown}")'
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, Decimal):
        return f"a number ({value})"
    if isinstance(value, datetime.datetime):
        return "a date-time"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, datetime.time):
        return "a time"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _build(raw: dict[str, Any], extends: Any, path: str) -> PriceBook:
    plan = raw.get("plan")
    return PriceBook(
        id=raw["id"],
        name=raw["name"],
        provider=raw["provider"],
        region=raw["region"],
        currency=raw["currency"],
        unit=raw["unit"],
        dedup_scope=raw["dedup_scope"],
        effective_date=raw["effective_date"],
        sources=tuple(raw["sources"]),
        notes=tuple(raw.get("notes", ())),
        discount_pct=raw.get("discount_pct", _ZERO),
        storage=_build_rate(raw["storage"]),
        plan=None if plan is None else _build_plan(plan),
        egress={name: _build_rate(rate) for name, rate in raw["egress"].items()},
        extends=extends,
        path=path,
    )


def _build_rate(raw: Mapping[str, Any]) -> TieredRate:
    tiers = []
    for tier in raw["tiers"]:
        daily = tier.get("daily_price")
        price = per_month(daily) if daily is not None else tier["price"]
        tiers.append(Tier(up_to=tier.get("up_to"), price=price, daily_price=daily))
    return TieredRate(free=raw.get("free", _ZERO), tiers=tuple(tiers))


def _build_plan(raw: Mapping[str, Any]) -> Plan:
    daily = raw.get("daily_fee")
    monthly = per_month(daily) if daily is not None else raw["monthly_fee"]
    return Plan(monthly_fee=monthly, included_storage=raw.get("included_storage", _ZERO), daily_fee=daily)
