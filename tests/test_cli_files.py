"""-o never clobbers: not an input, not a link's link, not a device; owner and mode kept; umask followed."""

from __future__ import annotations

import json
import os
import pty
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.inventory.file import dumps
from tests.test_costs import fleet_inventory

REPO_ROOT = Path(__file__).resolve().parent.parent
BOOK = 'id = "mine"\nextends = "aws-ecr"\nname = "Amazon ECR, negotiated"\ndiscount_pct = 10\n'
SCENARIOS = '[[scenarios]]\nspec = "ratio:0.5"\n'
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    files = {
        "inventory": tmp_path / "inv.json",
        "usage": tmp_path / "usage.csv",
        "book": tmp_path / "mine.toml",
        "scenarios": tmp_path / "scenarios.toml",
    }
    files["inventory"].write_text(dumps(fleet_inventory()), encoding="utf-8")
    files["usage"].write_text("repository,pulls_per_month\n*,10\n", encoding="utf-8")
    files["book"].write_text(BOOK, encoding="utf-8")
    files["scenarios"].write_text(SCENARIOS, encoding="utf-8")
    return files


def report_args(inputs: dict[str, Path]) -> list[str]:
    return [
        "report",
        str(inputs["inventory"]),
        "--usage",
        str(inputs["usage"]),
        "--pricing",
        str(inputs["book"]),
        "--scenario",
        str(inputs["scenarios"]),
    ]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


@pytest.mark.parametrize(("which", "option"), [("inventory", "SOURCE"), ("usage", "--usage"), ("book", "--pricing")])
def test_report_refuses_to_write_over_one_of_its_inputs(inputs: dict[str, Path], which: str, option: str) -> None:
    before = snapshot(inputs[which].parent)
    code, stdout, stderr = run(*report_args(inputs), "-o", str(inputs[which]))
    assert (code, stdout) == (1, "")
    assert stderr == (
        f"costcalc: error: {inputs[which]}: is the {option} file this command reads ({inputs[which]}); "
        "write the output to another file.\n"
    )
    assert snapshot(inputs[which].parent) == before  # the input intact, no temporary file left


def test_report_refuses_its_scenario_file_even_through_a_hard_link_or_a_symlink(inputs: dict[str, Path]) -> None:
    hard = inputs["scenarios"].with_name("hard.toml")
    os.link(inputs["scenarios"], hard)
    soft = inputs["scenarios"].with_name("soft.toml")
    soft.symlink_to(inputs["scenarios"].name)
    for path in (inputs["scenarios"], hard, soft):
        code, _, stderr = run(*report_args(inputs), "-o", str(path))
        assert code == 1
        assert f"{path}: is the --scenario file this command reads ({inputs['scenarios']})" in stderr
    assert inputs["scenarios"].read_text(encoding="utf-8") == SCENARIOS
    assert soft.is_symlink()


@pytest.mark.parametrize(
    "command",
    [
        ["quote", "--pricing", "{book}", "--storage-gb", "10", "-o", "{book}"],
        ["pricing", "show", "{book}", "-o", "{book}"],
        ["usage", "init", "{inventory}", "-o", "{inventory}", "--force"],
    ],
)
def test_other_commands_refuse_their_inputs_too(inputs: dict[str, Path], command: list[str]) -> None:
    before = snapshot(inputs["book"].parent)
    args = [a.format(book=inputs["book"], inventory=inputs["inventory"]) for a in command]
    code, _, stderr = run(*args)
    assert code == 1 and "file this command reads" in stderr
    assert snapshot(inputs["book"].parent) == before


def test_a_symlink_is_written_through_to_its_target_and_stays_a_link(inputs: dict[str, Path], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    target = reports / "2026-12.json"
    target.write_text("last month's report\n", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(Path("reports") / "2026-12.json")
    code, _, stderr = run(*report_args(inputs), "-o", str(link))
    assert code == 0, stderr
    assert link.is_symlink() and link.readlink() == Path("reports/2026-12.json")
    assert "rows" in json.loads(target.read_text(encoding="utf-8"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in reports.iterdir()) == ["2026-12.json"]


def test_a_dangling_symlink_is_refused(inputs: dict[str, Path], tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "nowhere" / "x.json")
    code, _, stderr = run(*report_args(inputs), "-o", str(link))
    assert code == 1
    assert stderr == (
        f"costcalc: error: {link}: symbolic link to {tmp_path / 'nowhere' / 'x.json'}, which does not exist; "
        "costcalc writes through a link only to an existing file.\n"
    )
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()


@pytest.fixture
def special(tmp_path: Path) -> Path:
    """A directory holding a FIFO and a device node like /dev/null's (never the system's own)."""
    directory = tmp_path / "special"
    directory.mkdir()
    os.mkfifo(directory / "pipe")
    os.mknod(directory / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return directory


@pytest.mark.parametrize(("kind", "name"), [("a directory", ""), ("a character device", "null"), ("a FIFO", "pipe")])
def test_anything_but_a_regular_file_is_refused(inputs: dict[str, Path], special: Path, kind: str, name: str) -> None:
    target = special / name if name else special
    before = target.stat()
    code, _, stderr = run(*report_args(inputs), "-o", str(target))
    assert code == 1
    assert stderr == f"costcalc: error: {target}: is {kind}, not a regular file; -o writes only regular files.\n"
    after = target.stat()
    assert (after.st_ino, after.st_mode, after.st_rdev) == (before.st_ino, before.st_mode, before.st_rdev)
    assert sorted(p.name for p in special.iterdir()) == ["null", "pipe"]


def test_an_existing_file_keeps_its_owner_group_and_mode(inputs: dict[str, Path], tmp_path: Path) -> None:
    assert os.geteuid() == 0, "this test runs as root to make a file owned by another user"
    out = tmp_path / "theirs.json"
    out.write_text("someone else's report\n", encoding="utf-8")
    os.chown(out, 1234, 4321)
    out.chmod(0o604)
    code, _, stderr = run(*report_args(inputs), "-o", str(out))
    assert code == 0, stderr
    status = out.stat()
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (1234, 4321, 0o604)
    assert "rows" in json.loads(out.read_text(encoding="utf-8"))


def umasked(umask: int, *args: str, cwd: Path, as_user: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `python -m costcalc ARGS` under UMASK as a shell would; AS_USER, with no more rights than a user.

    Root without the CAP_CHOWN and CAP_DAC_OVERRIDE capabilities may not give a file away nor write
    a file its mode forbids, as any other user may not.
    """
    prefix = ["setpriv", "--bounding-set=-chown,-dac_override"] if as_user else []
    return subprocess.run(
        [*prefix, "sh", "-c", f'umask {umask:03o} && exec "$@"', "sh", sys.executable, "-m", "costcalc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path: Path, umask: int, mode: int) -> None:
    done = umasked(umask, "quote", "--storage-gb", "10", "-o", "quote.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "quote.json").stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["quote.json"]


def test_another_users_file_is_refused_when_its_owner_cannot_be_kept(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs.json"
    theirs.write_text("not yours\n", encoding="utf-8")
    os.chown(theirs, 1235, 1235)
    theirs.chmod(0o666)
    done = umasked(0o022, "quote", "--storage-gb", "10", "-o", str(theirs), cwd=tmp_path, as_user=True)
    assert done.returncode == 1
    assert done.stderr == (
        f"costcalc: error: {theirs}: belongs to uid 1235 (gid 1235), which costcalc cannot keep as its owner; "
        "it is not replaced by a file of yours.\n"
    )
    assert theirs.read_text(encoding="utf-8") == "not yours\n" and theirs.stat().st_uid == 1235
    assert [p.name for p in tmp_path.iterdir()] == ["theirs.json"]


def test_a_read_only_file_is_refused_as_a_shell_would_refuse_it(tmp_path: Path) -> None:
    mine = tmp_path / "kept.json"
    mine.write_text("read only\n", encoding="utf-8")
    mine.chmod(0o444)
    done = umasked(0o022, "quote", "--storage-gb", "10", "-o", str(mine), cwd=tmp_path, as_user=True)
    assert done.returncode == 1
    assert done.stderr == f"costcalc: error: {mine}: cannot write the file (Permission denied).\n"
    assert mine.read_text(encoding="utf-8") == "read only\n"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.json"]


def test_a_writable_file_in_a_read_only_directory_says_why_it_cannot_be_replaced(tmp_path: Path) -> None:
    directory = tmp_path / "locked"
    directory.mkdir()
    mine = directory / "quote.json"
    mine.write_text("old\n", encoding="utf-8")
    directory.chmod(0o555)
    done = umasked(0o022, "quote", "--storage-gb", "10", "-o", str(mine), cwd=tmp_path, as_user=True)
    assert done.returncode == 1
    assert done.stderr == (
        f"costcalc: error: {mine}: cannot write the file (Permission denied in its directory, "
        "where the new content is written before it replaces the old).\n"
    )
    assert mine.read_text(encoding="utf-8") == "old\n"


def test_usage_init_overwrites_only_with_force(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "filled.csv"
    out.write_text("filled in by finance\n", encoding="utf-8")
    code, _, stderr = run("usage", "init", str(inputs["inventory"]), "-o", str(out))
    assert code == 1
    assert stderr == f"costcalc: error: {out}: already exists; it is not overwritten without --force.\n"
    assert out.read_text(encoding="utf-8") == "filled in by finance\n"
    code, _, stderr = run("usage", "init", str(inputs["inventory"]), "-o", str(out), "--force")
    assert code == 0, stderr
    assert out.read_text(encoding="utf-8").startswith("repository,")


def test_a_failed_report_leaves_the_old_file_and_no_temporary_file(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("yesterday's report\n", encoding="utf-8")
    inputs["usage"].write_text("repository,pulls_per_month\n*,-1\n", encoding="utf-8")
    code, _, stderr = run(*report_args(inputs), "-o", str(out))
    assert code == 1 and "pulls_per_month: must be a number >= 0" in stderr
    assert out.read_text(encoding="utf-8") == "yesterday's report\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_scan_checks_its_output_before_it_sends_a_request(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.5)
        port = server.getsockname()[1]
        repos = tmp_path / "repos.txt"
        repos.write_text("acme/api\n", encoding="utf-8")
        for out, problem in [
            (tmp_path / "missing" / "inv.json", "cannot write the file (No such file or directory)."),
            (tmp_path, "is a directory, not a regular file; -o writes only regular files."),
            (repos, f"is the --repos-file file this command reads ({repos}); write the output to another file."),
        ]:
            args = ["scan", f"127.0.0.1:{port}/acme", "--plain-http", "--no-cache", "--repos-file", str(repos)]
            done = umasked(0o022, *args, "-o", str(out), cwd=tmp_path)
            assert done.returncode == 1
            assert done.stderr == f"costcalc: error: {out}: {problem}\n"
            with pytest.raises(TimeoutError):
                server.accept()  # the registry was never contacted
        assert repos.read_text(encoding="utf-8") == "acme/api\n"


def test_a_binary_result_goes_to_a_file_or_a_pipe_never_to_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from costcalc.cli.output import destination
    from costcalc.errors import InputError

    workbook = b"PK\x03\x04\x00binary\n\x00"
    with destination(tmp_path / "costs.xlsx") as result:
        result.write(workbook)
    assert (tmp_path / "costs.xlsx").read_bytes() == workbook  # as given: no newline added

    reader, writer = os.pipe()
    with open(writer, "w", encoding="utf-8") as pipe:
        monkeypatch.setattr(sys, "stdout", pipe)
        with destination(None) as result:
            result.write(workbook)
    assert os.read(reader, 1000) == workbook
    os.close(reader)

    primary, secondary = pty.openpty()
    with open(secondary, "w", encoding="utf-8") as terminal:
        monkeypatch.setattr(sys, "stdout", terminal)
        with pytest.raises(InputError, match="this format is binary: give -o FILE"), destination(None) as result:
            result.write(workbook)
    os.close(primary)
