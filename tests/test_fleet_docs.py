"""docs/fleet.md's two examples: the YAML validates offline, and the costcalc commands in it run as written.

The GitHub Actions workflow is checked against GitHub's workflow schema as check-jsonschema
vendors it; the Kubernetes manifests against the API schemas kubernetes-validate bundles
(strict: an unknown or misspelt field fails). Then each example is played: the workflow's
matrix jobs and report job (their `run:` scripts, in bash as GitHub runs them, with the
step's `env:`), and the CronJobs' containers (`args` with each volume mounted as a
directory), against two real registries standing in for registry.example.com and
docker.io, each requiring the password the example passes (stdin, or a mounted Docker
config.json).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import bcrypt
import kubernetes_validate
import pytest
import yaml

from tests.registryd import Pusher, RunningRegistry, start_registry

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "fleet.md"
KUBERNETES_VERSION = "1.34"
USER = "costcalc-reader"
SHARED = b"a base layer both namespaces of the registry use " * 640
# The hosts the examples name, and the secrets they read, stand for these in the test.
FIRST_HOST, SECOND_HOST = "registry.example.com", "docker.io"


def yaml_blocks() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```$", DOC.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)


def workflow_text() -> str:
    (text,) = [block for block in yaml_blocks() if "\njobs:\n" in block]
    return text


def manifests_text() -> str:
    (text,) = [block for block in yaml_blocks() if block.startswith("apiVersion:")]
    return text


def test_the_page_holds_a_workflow_and_the_kubernetes_manifests() -> None:
    assert len(yaml_blocks()) == 2
    kinds = [document["kind"] for document in yaml.safe_load_all(manifests_text())]
    assert kinds.count("CronJob") == 4 and "PersistentVolumeClaim" in kinds
    for document in yaml.safe_load_all(manifests_text()):
        if document["kind"] == "CronJob":
            assert document["spec"]["concurrencyPolicy"] == "Forbid"
            for container in containers(document):
                assert set(container["resources"]) == {"requests", "limits"}


# -- validation ------------------------------------------------------------------------------


def check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_workflow_validates_against_githubs_schema(tmp_path: Path) -> None:
    good = tmp_path / "costs.yml"
    good.write_text(workflow_text(), encoding="utf-8")
    checked = check_workflow(good)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The same check refuses a workflow whose job says nowhere to run.
    bad = tmp_path / "bad.yml"
    bad.write_text(workflow_text().replace("    runs-on: ubuntu-latest\n", "", 1), encoding="utf-8")
    assert check_workflow(bad).returncode == 1


def test_the_kubernetes_manifests_validate_strictly() -> None:
    documents = list(yaml.safe_load_all(manifests_text()))
    for document in documents:
        assert kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION
    # Strict validation refuses a field Kubernetes does not know (here a misspelt one).
    cronjob = next(d for d in documents if d["kind"] == "CronJob")
    cronjob["spec"]["concurrencypolicy"] = cronjob["spec"].pop("concurrencyPolicy")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cronjob, KUBERNETES_VERSION, strict=True)


# -- the commands, run ----------------------------------------------------------------------


class Registries:
    """Two registries with basic auth, standing for the examples' two hosts."""

    def __init__(self, first: RunningRegistry, second: RunningRegistry, passwords: dict[str, str]) -> None:
        self.first, self.second, self.passwords = first, second, passwords

    def localize(self, text: str) -> str:
        """TEXT with the examples' hosts replaced by the test registries'."""
        return text.replace(FIRST_HOST, self.first.host).replace(SECOND_HOST, self.second.host)

    def docker_config(self, registry: RunningRegistry) -> str:
        """The `.dockerconfigjson` a `kubectl create secret docker-registry` for REGISTRY holds."""
        token = base64.b64encode(f"{USER}:{self.passwords[registry.host]}".encode()).decode()
        return json.dumps({"auths": {registry.host: {"username": USER, "auth": token}}})


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()}


@pytest.fixture
def registries(tmp_path: Path) -> Iterator[Registries]:
    """Two registries requiring a password each: namespaces platform and payments in the first
    (sharing a layer), acme in the second."""
    started: list[RunningRegistry] = []
    passwords: dict[str, str] = {}
    try:
        for name in ("first", "second"):
            password = f"pw-{name}-" + secrets.token_hex(12)
            htpasswd = tmp_path / f"{name}.htpasswd"
            htpasswd.write_text(f"{USER}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
            running = start_registry(
                tmp_path / name, auth={"htpasswd": {"realm": "costcalc-test", "path": str(htpasswd)}}
            )
            started.append(running)
            passwords[running.host] = password
        first, second = started
        push = Pusher(first.url, headers=basic(passwords[first.host]))
        api = push.image("platform/api", "v1", [SHARED, b"api"])
        push.tag("platform/api", api.digest, "latest")
        push.image("payments/ledger", "1.0", [SHARED, b"ledger"])
        push.close()
        push = Pusher(second.url, headers=basic(passwords[second.host]))
        push.image("acme/web", "latest", [SHARED, b"web"])
        push.close()
        yield Registries(first, second, passwords)
    finally:
        for running in started:
            running.stop()


def path_with_costcalc() -> str:
    """PATH with this interpreter's scripts first, where `costcalc` is installed."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def clean_environment(home: Path) -> dict[str, str]:
    """The environment of a fresh runner or container: no credentials, caches and config in HOME."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "REGISTRY_", "XDG_"))}
    return {**keep, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "PATH": path_with_costcalc()}


_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate(value: str, matrix: dict[str, str], repository_secrets: dict[str, str]) -> str:
    """VALUE with the `${{ }}` expressions the workflow uses evaluated (matrix values and secrets)."""

    def one(found: re.Match[str]) -> str:
        expression = found.group(1)
        if m := re.fullmatch(r"matrix\.(\w+)", expression):
            return matrix[m.group(1)]
        if m := re.fullmatch(r"secrets\[matrix\.(\w+)\]", expression):
            return repository_secrets[matrix[m.group(1)]]
        raise AssertionError(f"the test does not evaluate ${{{{ {expression} }}}}")

    return _EXPRESSION.sub(one, value)


def run_steps(
    job: dict[str, Any],
    workflow: dict[str, Any],
    workspace: Path,
    artifacts: Path,
    *,
    matrix: dict[str, str] | None = None,
    repository_secrets: dict[str, str] | None = None,
    repository: dict[str, str] | None = None,
) -> list[str]:
    """JOB's steps in a fresh WORKSPACE, as a runner takes them: actions/checkout writes REPOSITORY's
    files (path -> text), costcalc's scripts run in bash with the step's env, artifacts go to and
    come from ARTIFACTS. Returns the scripts run."""
    matrix, repository_secrets = matrix or {}, repository_secrets or {}
    workspace.mkdir(parents=True)
    ran = []
    for step in job["steps"]:
        uses = step.get("uses", "")
        given = {k: evaluate(str(v), matrix, repository_secrets) for k, v in step.get("with", {}).items()}
        if uses.startswith("actions/checkout@"):
            for name, text in (repository or {}).items():
                (workspace / name).parent.mkdir(parents=True, exist_ok=True)
                (workspace / name).write_text(text, encoding="utf-8")
        elif uses.startswith("actions/upload-artifact@"):
            target = artifacts / given["name"]
            target.mkdir(parents=True)
            for line in given["path"].split():
                shutil.copy(workspace / line, target)
        elif uses.startswith("actions/download-artifact@"):
            assert given["merge-multiple"] == "True"
            into = workspace / given["path"]
            into.mkdir(parents=True, exist_ok=True)
            for directory in artifacts.glob(given["pattern"]):
                for file in directory.iterdir():
                    shutil.copy(file, into)
        elif "run" in step and re.search(r"^\s*(printf .*\| )?costcalc ", step["run"], flags=re.MULTILINE):
            env = {
                **clean_environment(workspace / "home"),
                **{k: evaluate(str(v), matrix, repository_secrets) for k, v in workflow.get("env", {}).items()},
                **{k: evaluate(str(v), matrix, repository_secrets) for k, v in step.get("env", {}).items()},
            }
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=workspace,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert done.returncode == 0, f"{step['run']}\n{done.stderr}"
            ran.append(step["run"])
    return ran


def usage_csv() -> str:
    """The usage file both examples use: the ConfigMap's."""
    configmap = next(d for d in yaml.safe_load_all(manifests_text()) if d["kind"] == "ConfigMap")
    return str(configmap["data"]["usage.csv"])


def fleet_of(path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    return report


def assert_fleet(report: dict[str, Any], registries: Registries) -> None:
    """The report covers both registries, each on the book the example maps to it, the three namespaces merged."""
    assert sorted(report["pricing"]["id"].split("+")) == ["docker-hub-team", "s3-self-hosted"]
    # the first registry stores the shared layer once (its book's dedup scope is the registry),
    # the second its own copy: two copies, not three
    assert 2 * len(SHARED) < report["totals"]["storage_bytes"] < 3 * len(SHARED)
    assert sorted(row["name"] for row in report["rows"]) == sorted([registries.first.host, registries.second.host])
    warnings = " ".join(report["warnings"])
    assert "longer ago than --max-age" not in warnings and "skipped" not in warnings


def assert_no_secret_in(directory: Path, registries: Registries) -> None:
    for path in directory.rglob("*"):
        if path.is_file() and path.name != "config.json":  # the mounted Secret itself
            data = path.read_bytes()
            assert not any(password.encode() in data for password in registries.passwords.values()), path


def test_the_workflow_runs_its_commands_against_real_registries(registries: Registries, tmp_path: Path) -> None:
    workflow = yaml.safe_load(registries.localize(workflow_text()))
    repository_secrets = {
        "REGISTRY_EXAMPLE_TOKEN": registries.passwords[registries.first.host],
        "DOCKERHUB_TOKEN": registries.passwords[registries.second.host],
    }
    artifacts = tmp_path / "artifacts"
    scan = workflow["jobs"]["scan"]
    entries = scan["strategy"]["matrix"]["include"]
    assert len(entries) == 3
    for entry in entries:
        workspace = tmp_path / f"scan-{entry['name']}"
        ran = run_steps(scan, workflow, workspace, artifacts, matrix=entry, repository_secrets=repository_secrets)
        assert len(ran) == 1 and "--password-stdin" in ran[0]
    assert sorted(p.name for p in artifacts.glob("*/*.json")) == ["hub-acme.json", "payments.json", "platform.json"]

    report = workflow["jobs"]["report"]
    assert report["needs"] == "scan"
    workspace = tmp_path / "report"
    ran = run_steps(report, workflow, workspace, artifacts, repository={"costs/usage.csv": usage_csv()})
    assert len(ran) == 1
    assert_fleet(fleet_of(workspace / "fleet.json"), registries)
    assert (workspace / "fleet.xlsx").read_bytes().startswith(b"PK")
    assert_no_secret_in(tmp_path, registries)


def containers(cronjob: dict[str, Any]) -> list[dict[str, Any]]:
    spec: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return list(spec["containers"])


def run_container(
    container: dict[str, Any],
    pod: dict[str, Any],
    node: Path,
    configmaps: dict[str, dict[str, str]],
    secret_data: dict[str, dict[str, str]],
) -> subprocess.CompletedProcess[str]:
    """CONTAINER run as the kubelet would, with `costcalc` as the image's entrypoint: each volume
    mount a directory under NODE (a claim's subPath made on first use), each mount path in its
    args and env read as that directory."""
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts: dict[str, Path] = {}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "persistentVolumeClaim" in volume:
            where = node / "claims" / volume["persistentVolumeClaim"]["claimName"] / mount.get("subPath", "")
        elif "secret" in volume:
            where = node / "secrets" / f"{container['name']}-{mount['name']}"
            data = secret_data[volume["secret"]["secretName"]]
            for item in volume["secret"]["items"]:
                where.mkdir(parents=True, exist_ok=True)
                (where / item["path"]).write_text(data[item["key"]], encoding="utf-8")
        else:
            where = node / "configmaps" / volume["configMap"]["name"]
            for key, text in configmaps[volume["configMap"]["name"]].items():
                where.mkdir(parents=True, exist_ok=True)
                (where / key).write_text(text, encoding="utf-8")
        where.mkdir(parents=True, exist_ok=True)
        mounts[mount["mountPath"]] = where

    def on_node(value: str) -> str:
        for mount_path, where in sorted(mounts.items(), key=lambda pair: -len(pair[0])):
            value = re.sub(rf"(^|=){re.escape(mount_path)}(?=/|$)", lambda m, w=where: f"{m.group(1)}{w}", value)
        return value

    argv = [*container.get("command", ["costcalc"]), *container["args"]]
    env = {
        **clean_environment(node / "home"),
        **{item["name"]: on_node(str(item["value"])) for item in container.get("env", [])},
    }
    return subprocess.run(
        [on_node(arg) for arg in argv], cwd=node, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_cronjobs_run_their_commands_against_real_registries(registries: Registries, tmp_path: Path) -> None:
    documents = list(yaml.safe_load_all(registries.localize(manifests_text())))
    configmaps = {d["metadata"]["name"]: d["data"] for d in documents if d["kind"] == "ConfigMap"}
    secret_data = {
        "costcalc-registry-example": {".dockerconfigjson": registries.docker_config(registries.first)},
        "costcalc-docker-hub": {".dockerconfigjson": registries.docker_config(registries.second)},
    }
    cronjobs = [d for d in documents if d["kind"] == "CronJob"]
    scans = [c for c in cronjobs if containers(c)[0]["args"][0] == "scan"]
    reports = [c for c in cronjobs if containers(c)[0]["args"][0] == "report"]
    assert len(scans) == 3 and len(reports) == 1
    node = tmp_path / "node"
    for cronjob in [*scans, *reports]:  # the report is scheduled after the scans
        pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for container in containers(cronjob):
            done = run_container(container, pod, node, configmaps, secret_data)
            assert done.returncode == 0, f"{cronjob['metadata']['name']}: {done.stderr}"
            assert not any(p in " ".join(container["args"]) for p in registries.passwords.values())
    claim = node / "claims" / "costcalc-data"
    assert sorted(p.name for p in (claim / "inventories").iterdir()) == [
        "hub-acme.json",
        "payments.json",
        "platform.json",
    ]
    assert_fleet(fleet_of(claim / "reports" / "fleet.json"), registries)
    assert (claim / "reports" / "fleet.xlsx").read_bytes().startswith(b"PK")
    assert any((claim / "cache" / "platform").iterdir())  # each scan keeps its own cache on the volume
    assert_no_secret_in(node, registries)


def sh_block_after(path: Path, heading: str) -> str:
    """The first ```sh block after HEADING in PATH."""
    text = path.read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1]
    return text.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize(
    ("page", "heading", "usage"),
    [(DOC, "## The commands", "costs/usage.csv"), (ROOT / "README.md", "### A whole fleet", "usage.csv")],
)
def test_the_fleet_commands_of_the_pages_run(
    registries: Registries, tmp_path: Path, page: Path, heading: str, usage: str
) -> None:
    """The commands as printed, credentials from Docker's config.json (found through DOCKER_CONFIG)."""
    script = registries.localize(sh_block_after(page, heading))
    docker = tmp_path / "docker"
    docker.mkdir()
    auths = {
        r.host: json.loads(registries.docker_config(r))["auths"][r.host] for r in (registries.first, registries.second)
    }
    (docker / "config.json").write_text(json.dumps({"auths": auths}), encoding="utf-8")
    workspace = tmp_path / "workspace"
    (workspace / usage).parent.mkdir(parents=True)
    (workspace / usage).write_text(usage_csv(), encoding="utf-8")
    env = {**clean_environment(tmp_path / "home"), "DOCKER_CONFIG": str(docker)}
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert_fleet(fleet_of(workspace / "fleet.json"), registries)
