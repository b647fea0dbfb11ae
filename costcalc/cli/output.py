"""Files (and directories of files) written with `-o`: checked before the work, replaced atomically at its end.

What `-o PATH` may replace, and how:

- never one of the command's own inputs (the same file by device and inode, so hard links and
  symbolic links to an input are caught too): the input would be lost if the command failed
  half-way, and gone for the next run even when it did not;
- never anything but a regular file: a directory, device, FIFO or socket is refused;
- a symbolic link is written through: its target gets the new content and the link stays, as
  a shell's `>` does, so a link such as `latest.json -> reports/2026-12.json` keeps working;
  a link whose target does not exist is refused, since nothing says that file was meant;
- an existing file keeps its permission bits, owner and group; when they cannot be kept (another
  user's file, for a user who is not root) it is refused rather than silently taken over, and so
  is a file the user may not write (a read-only file), as a shell's `>` would refuse it;
- a new file gets the mode the user's umask gives (0644 under umask 022), like any other tool's.

A result of several files (`report --format csv -o DIRECTORY`) goes to a directory, created
when missing; each file in it follows the rules above and is replaced atomically on its own.

The new content goes to a temporary file in the destination's directory, which is created when
the command starts (so a scan learns that `-o` cannot be written before it scans, not after) and
renamed over the destination only when the whole result is written and flushed to disk: a reader
sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from costcalc.cli.console import usage_error
from costcalc.errors import InputError

# The files a command reads, each with the option or argument that names it: ("--usage", path).
Inputs = Iterable[tuple[str, Path | str]]

# What a path that is not a regular file is, for the sentence that refuses it.
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _cannot_write(path: Path, exc: OSError) -> InputError:
    return InputError(f"{path}: cannot write the file ({_reason(exc)}).")


class OutputFile:
    """A destination checked and opened for writing; `commit` puts the content in place."""

    def __init__(self, path: Path, *, inputs: Inputs = (), overwrite: bool = True) -> None:
        """Check PATH against the rules above and create the temporary file beside its destination.

        INPUTS are the files the command reads, each with what the user calls it (`--usage`);
        values that are no file (a price book id, a registry target) are ignored. OVERWRITE False
        refuses an existing file (a choice the user makes with --force). Raises InputError.
        """
        self.path = path
        self.destination = _destination(path)
        existing = _existing(path, self.destination)
        if existing is not None:
            _refuse_inputs(path, existing, inputs)
            if not overwrite:
                raise InputError(f"{path}: already exists; it is not overwritten without --force.")
            if not os.access(self.destination, os.W_OK):
                raise InputError(f"{path}: cannot write the file (Permission denied).")
        self._temp = self.destination.with_name(f".{self.destination.name}.{secrets.token_hex(6)}.tmp")
        try:
            # 0o666 and no mkstemp: the kernel applies the umask to a new file, as it does for
            # every other tool's output, where mkstemp would make it 0600.
            self._fd: int | None = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except PermissionError as exc:
            if existing is None:
                raise _cannot_write(path, exc) from None
            raise InputError(
                f"{path}: cannot write the file ({_reason(exc)} in its directory, where the new content "
                "is written before it replaces the old)."
            ) from None
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        try:
            if existing is not None:
                _keep_owner_and_mode(path, self._fd, existing)
        except BaseException:
            self.discard()
            raise

    def commit(self, content: str | bytes) -> None:
        """Write CONTENT (text is UTF-8), flush it to disk and rename it over the destination."""
        if self._fd is None:
            raise ValueError(f"{self.path}: already committed or discarded")
        data = content.encode("utf-8") if isinstance(content, str) else content
        try:
            with os.fdopen(self._fd, "wb") as handle:
                self._fd = None
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            self._temp.replace(self.destination)
        except OSError as exc:
            self._remove_temp()
            raise _cannot_write(self.path, exc) from None
        _sync_directory(self.destination.parent)

    def discard(self) -> None:
        """Drop the temporary file; the destination is left as it was."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._remove_temp()

    def _remove_temp(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()


def _destination(path: Path) -> Path:
    """The file PATH names: itself, or the existing file a symbolic link at PATH leads to."""
    if not path.is_symlink():
        return path
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a loop of links
        raise InputError(
            f"{path}: symbolic link to {path.readlink()}, which does not exist; "
            "costcalc writes through a link only to an existing file."
        ) from None


def _existing(path: Path, destination: Path) -> os.stat_result | None:
    """The destination's status if it exists; a destination that is not a regular file is refused."""
    try:
        status = destination.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _KINDS if test(status.st_mode)), "not a regular file")
        raise InputError(f"{path}: is {kind}, not a regular file; -o writes only regular files.")
    return status


def _refuse_inputs(path: Path, existing: os.stat_result, inputs: Inputs) -> None:
    for name, source in inputs:
        try:
            status = Path(source).stat()
        except (OSError, ValueError):  # no file there (a price book id, a registry target)
            continue
        if (status.st_dev, status.st_ino) == (existing.st_dev, existing.st_ino):
            raise InputError(
                f"{path}: is the {name} file this command reads ({source}); write the output to another file."
            )


def _keep_owner_and_mode(path: Path, fd: int, existing: os.stat_result) -> None:
    created = os.fstat(fd)
    if (created.st_uid, created.st_gid) != (existing.st_uid, existing.st_gid):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except PermissionError:
            raise InputError(
                f"{path}: belongs to uid {existing.st_uid} (gid {existing.st_gid}), which costcalc cannot "
                "keep as its owner; it is not replaced by a file of yours."
            ) from None
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))  # after chown, which clears set-id bits


def _sync_directory(directory: Path) -> None:
    """Flush the rename itself to disk, so a crash after the command cannot undo it."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems cannot sync a directory
            os.fsync(fd)
    finally:
        os.close(fd)


class Destination:
    """Where a command's result goes: stdout, or an OutputFile committed when the result is done."""

    def __init__(self, file: OutputFile | None) -> None:
        self.file = file

    def write(self, content: str | bytes) -> None:
        """Write the finished result: text ending with one newline, or the bytes of a binary format.

        Bytes go to stdout only when it is not a terminal (a pipe or a redirect), where they
        would be noise. Raises InputError.
        """
        if isinstance(content, str) and not content.endswith("\n"):
            content += "\n"
        if self.file is not None:
            self.file.commit(content)
        elif isinstance(content, str):
            sys.stdout.write(content)
            sys.stdout.flush()
        elif sys.stdout.isatty():
            raise InputError("this format is binary: give -o FILE to write it, or redirect stdout to a file.")
        else:
            sys.stdout.buffer.write(content)
            sys.stdout.buffer.flush()


@contextlib.contextmanager
def destination(path: Path | None, *, inputs: Inputs = (), overwrite: bool = True) -> Iterator[Destination]:
    """Check and open `-o PATH` (see OutputFile) before the work; discard it if the work fails."""
    file = OutputFile(path, inputs=inputs, overwrite=overwrite) if path is not None else None
    try:
        yield Destination(file)
    finally:
        if file is not None:
            file.discard()


def names_directory(path: str) -> bool:
    """True when `-o PATH` asks for a directory: PATH ends with a separator, or is one already."""
    return path.endswith(("/", os.sep)) or Path(path).is_dir()


class OutputDirectory:
    """A directory for a result of several files: each an OutputFile, each replaced atomically.

    The directory is created if missing (and removed again if the command fails before writing
    into it); the files in it follow every rule of OutputFile, so none of them may be an input.
    """

    def __init__(self, path: Path, names: Sequence[str], *, inputs: Inputs = ()) -> None:
        """Check PATH, create it if missing and open NAMES in it for writing. Raises InputError."""
        self.path = path
        self._created = _make_directory(path)
        self._files: dict[str, OutputFile] = {}
        try:
            for name in names:
                self._files[name] = OutputFile(path / name, inputs=inputs)
        except BaseException:
            self.discard()
            raise

    def commit(self, contents: Mapping[str, str | bytes]) -> None:
        """Write each file's content (CONTENTS has one per name given) and put it in place."""
        if set(contents) != set(self._files):
            raise ValueError(f"{self.path}: contents for {sorted(contents)}, files {sorted(self._files)}")
        for name, file in self._files.items():
            file.commit(contents[name])
        self._created = False

    def discard(self) -> None:
        """Drop the files not yet written, and the directory if this command created it for them."""
        for file in self._files.values():
            file.discard()
        if self._created:
            with contextlib.suppress(OSError):
                self.path.rmdir()
            self._created = False


def _make_directory(path: Path) -> bool:
    """Create PATH (and its missing parents) unless it is a directory already; True if created."""
    if path.is_dir():
        return False
    if path.exists() or path.is_symlink():
        raise InputError(f"{path}: is not a directory; -o names a directory here (it ends with /).")
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise InputError(f"{path}: cannot create the directory ({_reason(exc)}).") from None
    return True


@contextlib.contextmanager
def directory_destination(path: Path, names: Sequence[str], *, inputs: Inputs = ()) -> Iterator[OutputDirectory]:
    """Check and open `-o DIRECTORY` for NAMES (see OutputDirectory); discard it if the work fails."""
    directory = OutputDirectory(path, names, inputs=inputs)
    try:
        yield directory
    finally:
        directory.discard()


def file_or_directory(
    output: str | None, output_format: str, directory_files: Sequence[str], *, inputs: Inputs = ()
) -> contextlib.AbstractContextManager[Destination | OutputDirectory]:
    """Where a result in OUTPUT_FORMAT goes: stdout, the file OUTPUT, or DIRECTORY_FILES in the
    directory OUTPUT (`--format csv -o DIR/`).

    Only CSV writes a directory. For another format an existing directory is refused as any path
    that is no regular file is, and a path ending in / (which Path() would make a file name) is a
    usage error, said before anything is read.
    """
    if output is None:
        return destination(None, inputs=inputs)
    if output_format == "csv" and names_directory(output):
        return directory_destination(Path(output), directory_files, inputs=inputs)
    if output.endswith(("/", os.sep)):
        usage_error(f"-o {output}: names a directory; only --format csv writes a directory (of CSV files).")
    return destination(Path(output), inputs=inputs)


def table_width(output: Path | str | None, width: int | None = None) -> int:
    """WIDTH (--width) when given; else the terminal's width when a table goes to a terminal
    (OUTPUT None: stdout), else render's fixed default (120 columns)."""
    if width is not None:
        return width
    from costcalc.render import DEFAULT_WIDTH

    if output is None and sys.stdout.isatty():
        from rich.console import Console

        return Console().width
    return DEFAULT_WIDTH
