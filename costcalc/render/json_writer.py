"""JSON text written by hand: exact decimal numbers as they are, never through float.

`json.dumps` would turn a Decimal into a float; here a `Number` is written verbatim and the
rest exactly as `json.dumps(value, indent=2)` writes it, in one pass over the value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any

string = encode_basestring_ascii  # the C encoder json.dumps uses for str (ensure_ascii)


class Number:
    """A JSON number literal, written as-is (json.dumps would go through float)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Prewritten:
    """A value that writes its own JSON text (a long list of like rows, from one template)."""

    __slots__ = ()

    def write(self, depth: int, blocks: list[str]) -> None:
        """Append the value's text, as dump() would write it at DEPTH, to BLOCKS."""
        raise NotImplementedError


def dump(value: Any, indent: int = 0) -> str:
    """VALUE as JSON with 2-space indentation; Number objects are written verbatim.

    The text is what `json.dumps(value, indent=2)` writes (ASCII, `": "` and `","`
    separators), with Number literals in place of floats, built in one pass into a list of
    chunks: strings go through the C string encoder of the json module.
    """
    chunks: list[str] = []
    blocks: list[str] = []
    _emit(value, indent, chunks, blocks)
    blocks.append("".join(chunks))
    return "".join(blocks)


# A large report is some millions of small chunks, which take several times the memory of
# their text: every container that ends with more than this many pending is joined in a block.
_BLOCK = 1 << 14


def pad(depth: int) -> str:
    """A newline and the indentation of DEPTH, as dump() writes it."""
    return _PADS[depth] if depth < len(_PADS) else "\n" + "  " * depth


_PADS = tuple("\n" + "  " * depth for depth in range(32))


def _flush_if_large(chunks: list[str], blocks: list[str]) -> None:
    """Join CHUNKS into a block of BLOCKS once there are more than _BLOCK (see there why)."""
    if len(chunks) > _BLOCK:
        blocks.append("".join(chunks))
        chunks.clear()


def _emit(value: Any, depth: int, chunks: list[str], blocks: list[str]) -> None:
    out = chunks.append
    kind = type(value)
    if kind is Number:
        out(value.text)
        return
    if isinstance(value, Prewritten):
        blocks.append("".join(chunks))
        chunks.clear()
        value.write(depth, blocks)
        return
    if kind is dict or isinstance(value, Mapping):
        if not value:
            out("{}")
            return
        separator = "{" + pad(depth + 1)
        following = "," + separator[1:]
        for key, item in value.items():
            # scalars inline (the bulk of a report), containers and anything else recursively
            item_kind = type(item)
            if item_kind is str:
                text = string(item)
            elif item_kind is Number:
                text = item.text
            elif item_kind is bool:
                text = "true" if item else "false"
            elif item_kind is int:
                text = int.__repr__(item)
            elif item is None:
                text = "null"
            else:
                out(separator + string(str(key)) + ": ")
                _emit(item, depth + 1, chunks, blocks)
                separator = following
                continue
            out(separator + string(str(key)) + ": " + text)
            separator = following
        out(pad(depth) + "}")
        _flush_if_large(chunks, blocks)
        return
    if kind is list or (isinstance(value, Sequence) and kind is not str):
        if not value:
            out("[]")
            return
        separator = "[" + pad(depth + 1)
        following = "," + separator[1:]
        for item in value:
            item_kind = type(item)
            if item_kind is str:
                out(separator + string(item))
            elif item_kind is Number:
                out(separator + item.text)
            else:
                out(separator)
                _emit(item, depth + 1, chunks, blocks)
            separator = following
        out(pad(depth) + "]")
        _flush_if_large(chunks, blocks)
        return
    if isinstance(value, Decimal | float):
        raise TypeError("money and quantities must be wrapped in Number before dumping")
    out(json.dumps(value))
