"""Atomic file writes: a result is either fully written or not there at all."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from costcalc.errors import InputError


def write_atomic(path: Path, text: str) -> None:
    """Write TEXT to PATH through a temporary file in the same directory and a rename."""
    write_atomic_bytes(path, text.encode("utf-8"))


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """Write DATA to PATH through a temporary file in the same directory and a rename."""
    directory = path.parent if str(path.parent) else Path()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_binary(data: bytes, output: Path | None) -> None:
    """A binary result (a workbook) to OUTPUT atomically, or to stdout when it is not a terminal."""
    if output is None:
        if sys.stdout.isatty():
            raise InputError("a workbook is binary: write it to a file with -o FILE.xlsx.")
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        write_atomic_bytes(output, data)
    except OSError as exc:
        raise InputError(f"{output}: cannot write the file ({exc.strerror or type(exc).__name__}).") from None
