"""A registry's credentials: the flags, docker config.json and its helpers, REGISTRY_AUTH_FILE, auth.json."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from costcalc.errors import InputError, Unauthorized
from costcalc.reference import canonical_registry

HELPER_TIMEOUT_SECONDS = 30.0
MAX_AUTH_FILE_BYTES = 4 * 1024 * 1024  # a config.json of thousands of registries is far smaller
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
SOURCES_TRIED = "--username/--password-stdin, docker config.json, $REGISTRY_AUTH_FILE, containers auth.json"


@dataclass(frozen=True)
class Credential:
    """A username and secret for one registry; `source` (where it came from) is safe to print."""

    username: str
    secret: str = field(repr=False)
    identity_token: bool = False  # secret is an OAuth2 refresh/identity token
    source: str = ""


def resolve_credential(
    registry_host: str,
    username: str | None = None,
    password: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Credential | None:
    """REGISTRY_HOST's credential from the flags, config.json, then auth.json; None = anonymous."""
    if username is not None or password is not None:
        if not username or password is None:
            raise InputError("--username and --password-stdin must be given together.")
        return Credential(username, password, source="--password-stdin")
    env = os.environ if environ is None else environ
    for path, label in _auth_files(env):
        credential = _from_auth_file(path, label, registry_host, env)
        if credential is not None:
            return credential
    return None


def _auth_files(env: Mapping[str, str]) -> list[tuple[Path, str]]:
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    docker_dir = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else home / ".docker"
    files = [(docker_dir / "config.json", "docker config.json")]
    if env.get("REGISTRY_AUTH_FILE"):
        files.append((Path(env["REGISTRY_AUTH_FILE"]), "$REGISTRY_AUTH_FILE"))
    if env.get("XDG_RUNTIME_DIR"):
        files.append((Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json", "containers auth.json"))
    return files


def normalize_auth_key(key: str) -> str:
    """The host a config.json `auths` key stands for; Docker Hub's aliases all become docker.io."""
    text = key.strip().lower()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    return canonical_registry(text.split("/", 1)[0])


def _from_auth_file(path: Path, label: str, registry_host: str, env: Mapping[str, str]) -> Credential | None:
    config = _read_auth_file(path)
    if config is None:
        return None
    if not isinstance(config, dict):
        raise InputError(f"{path}: expected a JSON object.")
    wanted = normalize_auth_key(registry_host)
    where = f"{label} {path}"

    # Docker's own order: a per-host helper, then the default store, then plain `auths`
    # (docker/cli configfile.GetCredentialsStore). A helper that has nothing for this host
    # falls through to `auths`, which Docker would not do, so a stale store cannot hide a
    # credential written in the file. An empty name is no helper: Docker reads the file then,
    # and a host's empty credHelpers entry keeps it from credsStore too.
    helpers = config.get("credHelpers") or {}
    if not isinstance(helpers, dict):
        raise InputError(f"{path}: credHelpers: expected an object of host -> helper name.")
    helper = next((name for key, name in helpers.items() if normalize_auth_key(key) == wanted), None)
    store = None if helper == "" else config.get("credsStore")
    for name, kind in ((helper, "credHelpers"), (store, "credsStore")):
        if name is None or name == "":
            continue
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
            raise InputError(f"{path}: {kind}: not a credential helper name.")
        credential = _from_helper(name, wanted, f"{where} ({kind}: {name})", env)
        if credential is not None:
            return credential

    auths = config.get("auths") or {}
    if not isinstance(auths, dict):
        raise InputError(f"{path}: auths: expected an object of registry -> credentials.")
    keys = sorted((k for k in auths if normalize_auth_key(k) == wanted), key=lambda k: k != registry_host)
    for key in keys:
        credential = _from_auths_entry(auths[key], path, key, f"{where} (auths)")
        if credential is not None:
            return credential
    return None


def _read_auth_file(path: Path) -> object:
    """The JSON in PATH (None if there is no such file), read within MAX_AUTH_FILE_BYTES."""
    try:
        with path.open("rb") as handle:  # a device such as /dev/zero never ends: bound the read
            raw = handle.read(MAX_AUTH_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the credentials file ({type(exc).__name__}).") from None
    if len(raw) > MAX_AUTH_FILE_BYTES:
        raise InputError(f"{path}: over {MAX_AUTH_FILE_BYTES // 1024 // 1024} MiB; not a credentials file.")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        # The position only: the text around it may be a secret.
        raise InputError(f"{path}:{exc.lineno}: not valid JSON.") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be a credentials file.") from None
    except ValueError:  # an integer of thousands of digits
        raise InputError(f"{path}: holds a number too large to be a credentials file.") from None


def _from_auths_entry(entry: object, path: Path, key: str, source: str) -> Credential | None:
    if not isinstance(entry, dict):
        raise InputError(f"{path}: auths.{key}: expected an object.")
    username = entry.get("username") or ""
    secret = entry.get("password") or ""
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):  # binascii.Error, and a str that is not ASCII
            raise InputError(f"{path}: auths.{key}.auth: not base64 of username:password.") from None
        # Some tools pad the decoded pair with NULs (regclient decodeAuth, containers/image).
        username, sep, secret = decoded.rstrip("\x00").partition(":")
        if not sep:
            raise InputError(f"{path}: auths.{key}.auth: not base64 of username:password.")
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return Credential(username or "<token>", token, identity_token=True, source=source)
    if not isinstance(username, str) or not isinstance(secret, str):
        raise InputError(f"{path}: auths.{key}: username and password must be strings.")
    if username and secret:
        return Credential(username, secret, source=source)
    # An empty entry is Docker's marker for "stored in a credential helper".
    return None


def _from_helper(name: str, host: str, source: str, env: Mapping[str, str]) -> Credential | None:
    program = f"docker-credential-{name}"
    executable = shutil.which(program, path=env.get("PATH"))
    if executable is None:
        raise InputError(f"{source} names {program}, which is not on PATH.")
    server_url = DOCKER_HUB_AUTH_KEY if host == "docker.io" else host
    try:
        # Stdout and stderr are never echoed: a helper may print the secret.
        done = subprocess.run(
            [executable, "get"],
            input=server_url,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT_SECONDS,
            env=dict(env),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"{program} get did not answer within {HELPER_TIMEOUT_SECONDS:.0f} s for {host}.") from None
    except OSError as exc:
        raise InputError(f"{program} could not be run for {host} ({type(exc).__name__}).") from None
    if done.returncode != 0:
        # docker-credential-helpers' ErrCredentialsNotFound message.
        if "credentials not found" in (done.stdout + done.stderr).lower():
            return None
        raise Unauthorized(f"{program} get failed for {host} (exit status {done.returncode}; {source}).")
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("Secret", ""), str):
        raise InputError(f"{program} get sent output that is not the helper protocol's JSON for {host}.")
    username, secret = str(answer.get("Username") or ""), answer.get("Secret") or ""
    if not secret:
        return None
    if username == "<token>":
        return Credential(username, secret, identity_token=True, source=source)
    return Credential(username, secret, source=source)
