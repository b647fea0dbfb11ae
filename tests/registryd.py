"""A real distribution registry for tests and benchmarks, and a pusher over its upload API.

API (kept stable for other tests and benchmarks):

    reg = start_registry(workdir, auth=None, extra_config=None,   # RunningRegistry
                         tls=None, address="127.0.0.1")           # tls: (certificate, key) files
    reg.url, reg.host, reg.config_path, reg.log_path, reg.access_log_path, reg.ca_file
    reg.requests(since=0, user_agent="costcalc/")  # [(method, uri, status)] from the access log
    reg.protocols(since=0, user_agent="costcalc/") # ["HTTP/2.0", ...] of the same requests
    reg.access_log_offset()                        # pass as `since` to count later requests
    reg.stop()

    push = Pusher(reg.url)                         # optional headers=, verify= (a CA file for TLS)
    push.blob(repo, data, media_type) -> dict      # descriptor
    push.image(repo, tag, layers=[b"..."], platform="linux/amd64", created="...",
               media_type="oci" | "docker") -> Pushed
    push.attestation(repo, subject) -> Pushed      # buildx-style, pushed by digest
    push.index(repo, tag, children=[Pushed...], attestations=[Pushed...],
               media_type="oci" | "docker") -> Pushed
    push.artifact(repo, tag, artifact_type=..., config_media_type=..., config=b"...",
                  layers=[(media_type, bytes)]) -> Pushed
    push.tag(repo, digest, new_tag)

`auth` is the distribution `auth:` section as a dict (e.g. {"htpasswd": {"realm": "r",
"path": "/x/htpasswd"}}); `extra_config` is merged over the generated config. A missing
`docker-registry` binary raises RuntimeError (tests must fail, not skip).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BINARY = os.environ.get("COSTCALC_TEST_REGISTRY", "docker-registry")
PUSHER_AGENT = "costcalc-test-pusher"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
_ACCESS = re.compile(
    r'"(?P<method>[A-Z]+) (?P<uri>\S+) (?P<protocol>HTTP/[\d.]+)" (?P<status>\d{3}) \S+ '
    r'"[^"]*" "(?P<agent>[^"]*)"'
)


def _yaml(value: Any, indent: int = 0) -> str:
    """Enough YAML for a distribution config: nested mappings, lists and scalars."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:\n{_yaml(item, indent + 1)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    else:
        for item in value:
            lines.append(f"{pad}- {_scalar(item)}")
    return "\n".join(lines)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None or value == {} or value == []:
        return "{}" if value == {} else ("[]" if value == [] else "null")
    return json.dumps(str(value))  # a JSON string is a valid YAML scalar


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningRegistry:
    """A started `docker-registry serve` process on 127.0.0.1."""

    host: str
    config_path: Path
    log_path: Path
    access_log_path: Path
    process: subprocess.Popen[bytes]
    ca_file: Path | None = None  # the certificate to trust when it serves TLS

    @property
    def url(self) -> str:
        return f"{'https' if self.ca_file else 'http'}://{self.host}"

    def access_log_offset(self) -> int:
        return self.access_log_path.stat().st_size

    def requests(self, since: int = 0, user_agent: str | None = "costcalc/") -> list[tuple[str, str, int]]:
        """(method, uri, status) of requests logged after byte offset SINCE, by user agent."""
        return [(m["method"], m["uri"], int(m["status"])) for m in self._logged(since, user_agent)]

    def protocols(self, since: int = 0, user_agent: str | None = "costcalc/") -> list[str]:
        """The protocol ("HTTP/1.1", "HTTP/2.0") of each request `requests` would list."""
        return [m["protocol"] for m in self._logged(since, user_agent)]

    def _logged(self, since: int, user_agent: str | None) -> list[re.Match[str]]:
        time.sleep(0.05)  # the access log is written after the response
        with self.access_log_path.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode("utf-8", "replace")
        return [m for m in _ACCESS.finditer(text) if user_agent is None or m["agent"].startswith(user_agent)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_registry(
    workdir: Path,
    *,
    auth: dict[str, Any] | None = None,
    extra_config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    tls: tuple[Path, Path] | None = None,
    address: str = "127.0.0.1",
) -> RunningRegistry:
    """Start a registry storing under WORKDIR on a free port of ADDRESS; wait until /v2/ answers.

    ENV is added to this process's environment for the registry (e.g. GOMAXPROCS). TLS is a
    (certificate, key) pair of PEM files (tests/certificates.py server_files): the registry then
    serves HTTPS, and HTTP/2 to clients that offer it."""
    binary = shutil.which(BINARY)
    if binary is None:
        raise RuntimeError(
            f"{BINARY!r} is not installed (apt-get install docker-registry); the registry integration tests need it."
        )
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port(address)
    host = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(workdir / "storage")},
            "delete": {"enabled": True},
        },
        "http": {"addr": host, "secret": "costcalc-test-secret"},
    }
    if tls:
        config["http"]["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
    if auth:
        config["auth"] = auth
    _merge(config, extra_config or {})
    config_path = workdir / "config.yml"
    config_path.write_text(_yaml(config) + "\n", encoding="utf-8")
    log_path, access_path = workdir / "registry.log", workdir / "access.log"
    # The access log goes to stdout, everything else to stderr.
    with access_path.open("wb") as out, log_path.open("wb") as err:
        process = subprocess.Popen(
            [binary, "serve", str(config_path)], stdout=out, stderr=err, env={**os.environ, **(env or {})}
        )
    registry = RunningRegistry(host, config_path, log_path, access_path, process, tls[0] if tls else None)
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=tls[0]) if tls else True
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            status = httpx.get(f"{registry.url}/v2/", headers={"User-Agent": PUSHER_AGENT}, verify=verify).status_code
            if status in (200, 401):
                return registry
        except httpx.TransportError:
            time.sleep(0.05)
    registry.stop()
    raise RuntimeError(f"docker-registry did not answer on {registry.url} within 15 s")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, sort_keys=False).encode()


@dataclass(frozen=True)
class Pushed:
    """A manifest the pusher stored: its digest, bytes and descriptors (for expected values)."""

    digest: str
    media_type: str
    body: bytes
    platform: str | None = None
    config: dict[str, Any] | None = None
    layers: tuple[dict[str, Any], ...] = ()
    children: tuple[Pushed, ...] = ()
    attestation: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.body)

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


class Pusher:
    """Pushes blobs and manifests through the registry's real upload API."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, verify: Path | None = None) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"User-Agent": PUSHER_AGENT, **(headers or {})},
            timeout=30,
            verify=ssl.create_default_context(cafile=verify) if verify else True,
        )

    def blob(self, repo: str, data: bytes, media_type: str = OCI_LAYER) -> dict[str, Any]:
        """Upload DATA (POST then monolithic PUT ?digest=) and return its descriptor."""
        digest = digest_of(data)
        started = self.http.post(f"/v2/{repo}/blobs/uploads/")
        started.raise_for_status()
        location = httpx.URL(started.headers["Location"])
        url = httpx.URL(self.http.base_url).join(location)
        done = self.http.put(
            url.copy_merge_params({"digest": digest}),
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        done.raise_for_status()
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> str:
        response = self.http.put(
            f"/v2/{repo}/manifests/{reference}", content=body, headers={"Content-Type": media_type}
        )
        if response.status_code >= 300:
            raise RuntimeError(f"PUT manifest {repo}:{reference}: {response.status_code} {response.text}")
        return digest_of(body)

    def image(
        self,
        repo: str,
        tag: str | None,
        layers: list[bytes],
        *,
        platform: str = "linux/amd64",
        created: str = "2026-01-01T00:00:00Z",
        media_type: str = "oci",
        history: str = "",
    ) -> Pushed:
        """Push an image (config + gzip-typed layers); TAG None pushes by digest only."""
        docker = media_type == "docker"
        os_name, arch, *variant = platform.split("/")
        config_doc: dict[str, Any] = {
            "architecture": arch,
            "os": os_name,
            "created": created,
            "rootfs": {"type": "layers", "diff_ids": [digest_of(x) for x in layers]},
            "config": {"Labels": {"history": history}},
        }
        if variant:
            config_doc["variant"] = variant[0]
        config = self.blob(repo, canonical(config_doc), DOCKER_CONFIG if docker else OCI_CONFIG)
        descriptors = [self.blob(repo, data, DOCKER_LAYER if docker else OCI_LAYER) for data in layers]
        manifest_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
        body = canonical(
            {
                "schemaVersion": 2,
                "mediaType": manifest_type,
                "config": config,
                "layers": descriptors,
            }
        )
        digest = self.manifest(repo, tag or digest_of(body), body, manifest_type)
        return Pushed(digest, manifest_type, body, platform, config, tuple(descriptors))

    def attestation(self, repo: str, subject: Pushed, statements: list[bytes] | None = None) -> Pushed:
        """A buildx-style attestation manifest (in-toto layers) for SUBJECT, pushed by digest."""
        statements = statements or [
            b'{"_type": "https://in-toto.io/Statement/v0.1", "subject": "%s"}' % subject.digest.encode()
        ]
        config = self.blob(
            repo,
            canonical(
                {
                    "architecture": "unknown",
                    "os": "unknown",
                    "rootfs": {"type": "layers", "diff_ids": []},
                }
            ),
            OCI_CONFIG,
        )
        layers = [self.blob(repo, s, "application/vnd.in-toto+json") for s in statements]
        body = canonical({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers})
        digest = self.manifest(repo, digest_of(body), body, OCI_MANIFEST)
        return Pushed(
            digest,
            OCI_MANIFEST,
            body,
            None,
            config,
            tuple(layers),
            attestation=True,
            extra={"subject": subject.digest},
        )

    def index(
        self,
        repo: str,
        tag: str,
        children: list[Pushed],
        *,
        attestations: list[Pushed] = (),
        media_type: str = "oci",  # type: ignore[assignment]
        omit_media_type: bool = False,
    ) -> Pushed:
        """Push an index (OCI) or manifest list (docker) over CHILDREN plus attestation entries."""
        index_type = DOCKER_LIST if media_type == "docker" else OCI_INDEX
        entries = []
        for child in children:
            os_name, arch, *variant = (child.platform or "unknown/unknown").split("/")
            platform = {"architecture": arch, "os": os_name}
            if variant:
                platform["variant"] = variant[0]
            entries.append({**child.descriptor(), "platform": platform})
        for att in attestations:
            entries.append(
                {
                    **att.descriptor(),
                    "platform": {"architecture": "unknown", "os": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": att.extra["subject"],
                    },
                }
            )
        document: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": index_type,
            "manifests": entries,
        }
        if omit_media_type:
            del document["mediaType"]
        body = canonical(document)
        digest = self.manifest(repo, tag, body, index_type)
        return Pushed(digest, index_type, body, children=(*children, *attestations))

    def artifact(
        self,
        repo: str,
        tag: str | None,
        *,
        artifact_type: str | None = None,
        config_media_type: str = "application/vnd.oci.empty.v1+json",
        config: bytes = b"{}",
        layers: list[tuple[str, bytes]] = (),
        subject: Pushed | None = None,
    ) -> Pushed:  # type: ignore[assignment]
        """Push an OCI artifact manifest (artifactType and/or a non-image config media type),
        naming SUBJECT as the manifest it refers to (OCI 1.1) when given."""
        config_desc = self.blob(repo, config, config_media_type)
        descriptors = [self.blob(repo, data, mt) for mt, data in layers]
        document: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
        if artifact_type:
            document["artifactType"] = artifact_type
        document.update({"config": config_desc, "layers": descriptors})
        if subject is not None:
            document["subject"] = {"mediaType": subject.media_type, "digest": subject.digest, "size": len(subject.body)}
        body = canonical(document)
        digest = self.manifest(repo, tag or digest_of(body), body, OCI_MANIFEST)
        return Pushed(digest, OCI_MANIFEST, body, None, config_desc, tuple(descriptors))

    def tag(self, repo: str, digest: str, new_tag: str) -> None:
        """Point NEW_TAG at the manifest DIGEST (GET by digest, PUT under the tag)."""
        got = self.http.get(
            f"/v2/{repo}/manifests/{digest}",
            headers={"Accept": ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])},
        )
        got.raise_for_status()
        self.manifest(repo, new_tag, got.content, got.headers["Content-Type"].split(";")[0])

    def close(self) -> None:
        self.http.close()
