"""Options that several commands share, declared once: the scan options, -o, --format, --quiet.

The scan options (which repositories, how to reach the registry, which credentials, the cache)
are taken by `scan`, by `report` and `usage init` (which scan a TARGET on the fly), and are
declared only here: a command asks for them with `@with_scan_options` and one parameter
`scan: ScanOptions`, and receives them as one typed value.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from costcalc.cli.console import usage_error
from costcalc.registry.options import DEFAULT_CONCURRENCY, ScanOptions
from costcalc.render import format_of

R = TypeVar("R")

QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or warnings on stderr.")]
WidthOption = Annotated[
    int | None,
    typer.Option(
        "--width", metavar="COLUMNS", min=40, max=1000, help="Table width (default: the terminal's, else 120)."
    ),
]


def output_option(what: str, *, instead_of_stdout: bool = True) -> Any:
    """The `-o/--output FILE` option; WHAT is the result written there."""
    where = " instead of stdout" if instead_of_stdout else ""
    return typer.Option(
        "-o",
        "--output",
        metavar="FILE",
        help=f"Write {what} to FILE (atomically){where}; never one of the command's inputs.",
    )


def format_option(choices: Sequence[str], what: str = "Output format", *, by_extension: bool = True) -> Any:
    """`--format` with its CHOICES in --help; without it, -o's extension (BY_EXTENSION) or the first choice."""

    def parse(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}.")
        return value

    return typer.Option(
        "--format",
        metavar="[" + "|".join(choices) + "]",
        parser=parse,
        help=f"{what}; default: the one -o's extension names, else {choices[0]}."
        if by_extension
        else f"{what} (default {choices[0]}).",
    )


def choose_format(requested: str | None, output: Path | None, choices: Sequence[str]) -> str:
    """The format asked for by --format or by -o's extension (they must agree), else the first of CHOICES."""
    implied = format_of(output) if output is not None else None
    if implied is not None and requested is not None and implied != requested:
        usage_error(f"--format {requested} conflicts with -o {output}, whose extension asks for {implied}; drop one.")
    if implied is not None and implied not in choices:
        usage_error(f"-o {output}: its extension asks for {implied}; this command writes {' or '.join(choices)}.")
    return requested or implied or choices[0]


# The scan options: name, declaration (type and typer.Option) and default, in --help's order.
_SCAN_PARAMETERS = (
    (
        "repo",
        Annotated[list[str] | None, typer.Option("--repo", metavar="NAME", help="Scan this repository (repeatable).")],
        None,
    ),
    (
        "repos_file",
        Annotated[
            Path | None, typer.Option("--repos-file", metavar="FILE", help="Repositories to scan, one per line.")
        ],
        None,
    ),
    (
        "include",
        Annotated[list[str] | None, typer.Option("--include", metavar="GLOB", help="Only repositories matching GLOB.")],
        None,
    ),
    (
        "exclude",
        Annotated[list[str] | None, typer.Option("--exclude", metavar="GLOB", help="Skip repositories matching GLOB.")],
        None,
    ),
    (
        "concurrency",
        Annotated[int, typer.Option("--concurrency", metavar="N", min=1, max=256, help="Concurrent requests.")],
        DEFAULT_CONCURRENCY,
    ),
    (
        "plain_http",
        Annotated[bool, typer.Option("--plain-http", help="Use HTTP, not HTTPS.")],
        False,
    ),
    (
        "http1",
        Annotated[bool, typer.Option("--http1", help="HTTP/1.1 only, even where the registry offers HTTP/2.")],
        False,
    ),
    (
        "ca_file",
        Annotated[
            Path | None,
            typer.Option(
                "--ca-file",
                metavar="PEM",
                exists=True,
                dir_okay=False,
                help="Also trust the certificate authorities in this PEM file, beside the system's.",
            ),
        ],
        None,
    ),
    (
        "username",
        Annotated[str | None, typer.Option("--username", metavar="USER", help="Registry user.")],
        None,
    ),
    (
        "password_stdin",
        Annotated[bool, typer.Option("--password-stdin", help="Read the password or token from stdin.")],
        False,
    ),
    (
        "aws_profile",
        Annotated[
            str | None,
            typer.Option(
                "--profile", metavar="NAME", help="AWS profile for Amazon ECR targets (default: the chain's)."
            ),
        ],
        None,
    ),
    (
        "aws_region",
        Annotated[
            str | None,
            typer.Option("--region", metavar="REGION", help="AWS region for ecr:// targets (default: the profile's)."),
        ],
        None,
    ),
    (
        "no_cache",
        Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")],
        False,
    ),
    (
        "cache_dir",
        Annotated[Path | None, typer.Option("--cache-dir", metavar="DIR", help="Cache directory (default: XDG).")],
        None,
    ),
)


def scan_options(
    *,
    repo: list[str] | None,
    repos_file: Path | None,
    include: list[str] | None,
    exclude: list[str] | None,
    concurrency: int,
    plain_http: bool,
    http1: bool,
    ca_file: Path | None,
    username: str | None,
    password_stdin: bool,
    aws_profile: str | None,
    aws_region: str | None,
    no_cache: bool,
    cache_dir: Path | None,
) -> ScanOptions:
    """The typer-free ScanOptions; the password is read from stdin here, never from argv."""
    if password_stdin != (username is not None):
        raise typer.BadParameter("--username and --password-stdin go together.")
    password = sys.stdin.read().rstrip("\r\n") if password_stdin else None
    return ScanOptions(
        repos=tuple(repo or ()),
        repos_file=repos_file,
        include=tuple(include or ()),
        exclude=tuple(exclude or ()),
        concurrency=concurrency,
        plain_http=plain_http,
        http1=http1,
        ca_file=ca_file,
        username=username,
        password=password,
        aws_profile=aws_profile,
        aws_region=aws_region,
        use_cache=not no_cache,
        cache_dir=cache_dir,
    )


def with_scan_options(command: Callable[..., R]) -> Callable[..., R]:
    """COMMAND(..., scan: ScanOptions) as a command that takes the scan options as flags.

    The flags are added to COMMAND's signature, where typer reads its options, after its own
    parameters; the wrapper collects them into one ScanOptions and passes it as `scan`.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [p for name, p in signature.parameters.items() if name != "scan"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, annotation, default in _SCAN_PARAMETERS
    ]

    @functools.wraps(command)
    def run(**values: Any) -> R:
        scan = scan_options(**{name: values.pop(name) for name, _, _ in _SCAN_PARAMETERS})
        return command(**values, scan=scan)

    parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + added
    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    return run
