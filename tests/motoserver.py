"""A real moto server (Amazon ECR's API on loopback) for tests, and a pusher over that API.

API (kept stable for other tests):

    server = start_moto(workdir)                 # RunningMoto; server.url, server.reset(), server.stop()
    env = aws_environment(tmp_path)              # variables that point boto3 at fake credentials only
    push = EcrPusher(server.url)                 # boto3 ECR client bound to the server
    push.repository(name, lifecycle_policy=None)
    push.image(repo, tag=None | "v1", layers=[b"..."], media_type="oci" | "docker") -> EcrPushed
    push.index(repo, tag, children=[EcrPushed...]) -> EcrPushed
    push.tag(repo, pushed, tag)                  # another tag on an image already pushed

The images are made by PutImage alone: ECR keeps layers apart from manifests and costcalc
reads only manifests, so the layers are never uploaded (moto does not check they were).
A missing `moto_server` raises RuntimeError (tests must fail, not skip).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.registryd import free_port

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass
class RunningMoto:
    """A started `moto_server` process on 127.0.0.1."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def reset(self) -> None:
        """Forget every repository and image (moto's own reset endpoint)."""
        httpx.post(f"{self.url}/moto-api/reset").raise_for_status()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_moto(workdir: Path) -> RunningMoto:
    """Start moto's server mode on a free loopback port; wait until it answers."""
    binary = shutil.which("moto_server")
    if binary is None:
        raise RuntimeError("'moto_server' is not installed (pip install 'moto[server]'); the ECR tests need it.")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = workdir / "moto.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    server = RunningMoto(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{server.url}/moto-api/").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"moto_server did not answer on {server.url} within 30 s")


def aws_environment(home: Path) -> dict[str, str]:
    """Fake static credentials, and no config file, SSO cache or instance metadata to find others."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class EcrPushed:
    """An image or index as pushed: its manifest bytes and every blob it names, by digest."""

    digest: str
    media_type: str
    manifest: bytes
    blobs: dict[str, int] = field(default_factory=dict)  # config and layers (children's too)
    children: tuple[EcrPushed, ...] = ()

    @property
    def stored(self) -> dict[str, int]:
        """Every digest this image stores, with its size: manifests, configs, layers."""
        found = {self.digest: len(self.manifest), **self.blobs}
        for child in self.children:
            found.update(child.stored)
        return found


class EcrPusher:
    """Repositories, images and lifecycle policies made through ECR's own API calls."""

    def __init__(self, endpoint_url: str) -> None:
        import boto3

        self.client: Any = boto3.client("ecr", region_name=REGION, endpoint_url=endpoint_url)
        self._serial = 0

    def repository(self, name: str, lifecycle_policy: dict[str, Any] | None = None) -> None:
        self.client.create_repository(repositoryName=name)
        if lifecycle_policy is not None:
            self.client.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(lifecycle_policy))

    def _put(self, repo: str, tag: str | None, body: bytes, media_type: str) -> str:
        digest = digest_of(body)
        # ECR computes the digest from the manifest it receives; moto makes one up from the
        # layer digests unless it is told, so the tests tell it what ECR would compute.
        extra = {"imageTag": tag} if tag is not None else {}
        self.client.put_image(
            repositoryName=repo,
            imageManifest=body.decode(),
            imageManifestMediaType=media_type,
            imageDigest=digest,
            **extra,
        )
        return digest

    def image(
        self,
        repo: str,
        tag: str | None,
        layers: list[bytes],
        media_type: str = "oci",
        platform: str = "linux/amd64",
    ) -> EcrPushed:
        self._serial += 1
        os_name, arch = platform.split("/")[:2]
        config = json.dumps({"architecture": arch, "os": os_name, "serial": self._serial}).encode()
        oci = media_type == "oci"
        manifest_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
        layer_type = OCI_LAYER if oci else DOCKER_LAYER
        config_type = OCI_CONFIG if oci else DOCKER_CONFIG
        document = {
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {
                "mediaType": config_type,
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": [{"mediaType": layer_type, "digest": digest_of(data), "size": len(data)} for data in layers],
        }
        body = json.dumps(document, indent=3).encode()
        digest = self._put(repo, tag, body, manifest_type)
        blobs = {digest_of(config): len(config), **{digest_of(data): len(data) for data in layers}}
        return EcrPushed(digest=digest, media_type=manifest_type, manifest=body, blobs=blobs)

    def index(self, repo: str, tag: str | None, children: list[EcrPushed], platforms: list[str]) -> EcrPushed:
        entries = []
        for child, platform in zip(children, platforms, strict=True):
            os_name, arch = platform.split("/")[:2]
            entries.append(
                {
                    "mediaType": child.media_type,
                    "digest": child.digest,
                    "size": len(child.manifest),
                    "platform": {"architecture": arch, "os": os_name},
                }
            )
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
        digest = self._put(repo, tag, body, OCI_INDEX)
        return EcrPushed(digest=digest, media_type=OCI_INDEX, manifest=body, children=tuple(children))

    def tag(self, repo: str, pushed: EcrPushed, tag: str) -> None:
        """Another tag on PUSHED: ECR's retag is a PutImage of the same manifest with the new tag."""
        self._put(repo, tag, pushed.manifest, pushed.media_type)
