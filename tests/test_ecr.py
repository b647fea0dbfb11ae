"""Scanning Amazon ECR through its API, against moto's server mode (a real process on loopback).

Where moto is not ECR, the tests follow ECR's documentation and say so:
- ECR computes an image's digest from the manifest it receives; moto makes one up from the
  layer digests unless PutImage names it, so the pusher names the digest ECR would compute.
- Moving a tag in ECR leaves the old image untagged (and billed); moto deletes it. The
  tests push untagged images directly to stand for those.
- moto records no pulls (no lastRecordedPullTime) and does not paginate DescribeImages:
  the pull times and the page arithmetic are checked with boto3's own before-call hook
  answering for ECR (what botocore's Stubber does), the rest against moto.
- ECR's imageSizeInBytes is not the stored bytes in moto (it reports the config's size);
  costcalc does not use it: its sizes come from the manifests.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from costcalc.errors import CostcalcError, CredentialsRejected, InputError, InvalidReference
from costcalc.inventory import file as inventory_file
from costcalc.inventory.model import Inventory
from costcalc.reference import parse_target
from costcalc.registry.ecr import EcrTarget, api_available, lifecycle_policies, parse_ecr_target
from costcalc.registry.ecr_scan import scan_ecr
from costcalc.registry.options import ScanOptions
from costcalc.registry.scan import ScanEvent
from costcalc.scenarios.ecr_lifecycle import expired_inventory, lifecycle_plan, parse_policy
from tests.motoserver import ACCOUNT, REGION, EcrPusher, RunningMoto, aws_environment

REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


@pytest.fixture
def push(moto: RunningMoto) -> EcrPusher:
    return EcrPusher(moto.url)


def scan(
    moto: RunningMoto, tmp_path: Path, target: str = f"ecr://{REGION}", *, repos: tuple[str, ...] = (), **kwargs: Any
) -> Inventory:
    options = ScanOptions(cache_dir=tmp_path / "cache", repos=repos, exclude=kwargs.pop("exclude", ()))
    return scan_ecr(target, options, endpoint_url=moto.url, **kwargs)


# -- targets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", EcrTarget("eu-west-1", "123456789012")),
        ("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/", EcrTarget("eu-west-1", "123456789012", "team")),
        ("123456789012.DKR.ECR.us-gov-west-1.amazonaws.com/a/b", EcrTarget("us-gov-west-1", "123456789012", "a/b")),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            EcrTarget("cn-north-1", "123456789012", suffix="amazonaws.com.cn"),
        ),
        ("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", EcrTarget("us-east-1", "123456789012", fips=True)),
        ("ecr://us-east-1", EcrTarget("us-east-1", None)),
        ("ecr://ap-southeast-2/platform/base", EcrTarget("ap-southeast-2", None, "platform/base")),
        ("ecr://", EcrTarget(None, None)),
        ("ghcr.io/acme", None),
        ("public.ecr.aws/acme", None),  # ECR Public has another API: the OCI path scans it
        ("localhost:5000", None),
    ],
)
def test_ecr_targets_parse(text: str, expected: EcrTarget | None) -> None:
    assert parse_ecr_target(text) == expected


def test_the_registry_host_is_the_one_docker_pulls_from() -> None:
    target = parse_ecr_target("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/x")
    assert target is not None
    assert target.registry_host("123456789012", "us-east-1") == "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    "text", ["ecr://mars-1", "ecr://us-east-1/Team", "123456789012.dkr.ecr.us-east-1.amazonaws.com//x"]
)
def test_bad_ecr_targets_are_one_sentence(text: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_ecr_target(text)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_ecr_hosts_stay_valid_registry_targets_for_the_oci_path() -> None:
    # without the aws extra an ECR host is scanned like any registry (tags, manifests by HTTP)
    target = parse_target(f"{REGISTRY}/team")
    assert (target.registry, target.namespace) == (REGISTRY, "team")


def test_without_boto3_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # what `import boto3` meets when it is absent
    assert api_available() is False
    with pytest.raises(CostcalcError) as caught:
        scan_ecr("ecr://us-east-1")
    assert str(caught.value) == "scanning Amazon ECR through its API needs boto3: pip install 'costcalc[aws]'."


# -- scans against moto -------------------------------------------------------------------


def test_the_inventory_is_exactly_what_was_pushed(moto: RunningMoto, push: EcrPusher, tmp_path: Path) -> None:
    for name in ("team/api", "team/web", "other"):
        push.repository(name)
    api_v1 = push.image("team/api", "v1", [b"base" * 1000, b"app-1" * 300])
    push.tag("team/api", api_v1, "stable")
    api_v2 = push.image("team/api", "v2", [b"base" * 1000, b"app-2" * 300], media_type="docker")
    # stands for v1's earlier build, left untagged in ECR when v1 moved (moto would delete it)
    orphan = push.image("team/api", None, [b"base" * 1000, b"app-0" * 300])
    amd = push.image("team/web", None, [b"web-amd" * 100], platform="linux/amd64")
    arm = push.image("team/web", None, [b"web-arm" * 100], platform="linux/arm64")
    multi = push.index("team/web", "1.0", [amd, arm], ["linux/amd64", "linux/arm64"])
    push.image("other", "x", [b"not in the namespace"])

    inventory = scan(moto, tmp_path, f"{REGISTRY}/team")

    assert (inventory.registry, inventory.namespace, inventory.errors) == (REGISTRY, "team", ())
    assert {r.name: {(t.tag, t.digest) for t in r.tags} for r in inventory.repositories} == {
        "team/api": {("v1", api_v1.digest), ("stable", api_v1.digest), ("v2", api_v2.digest)},
        "team/web": {("1.0", multi.digest)},
    }
    # the index's children are its platforms, not untagged images of their own
    assert {r.name: r.untagged for r in inventory.repositories} == {"team/api": (orphan.digest,), "team/web": ()}
    for item in [api_v1, api_v2, orphan, multi, amd, arm]:
        record = inventory.manifests[item.digest]
        assert record.size_bytes == len(item.manifest)
        assert {layer.digest: layer.size_bytes for layer in record.layers} == {
            d: s for d, s in item.blobs.items() if record.config is None or d != record.config.digest
        }
    # ECR bills untagged images: every stored byte counts, tagged or not, each blob once
    stored: dict[str, int] = {}
    for item in [api_v1, api_v2, orphan, multi]:
        stored.update(item.stored)
    assert inventory.figures.unique_bytes == sum(stored.values())
    # every image ECR lists has its push time; moto records no pulls
    for item in [api_v1, api_v2, orphan, multi, amd, arm]:
        pushed_at = inventory.manifests[item.digest].pushed_at
        assert pushed_at is not None and abs(pushed_at - datetime.now(UTC)) < timedelta(minutes=5)
        assert inventory.manifests[item.digest].last_pulled_at is None


def test_repositories_named_are_scanned_without_a_listing_and_filters_apply(
    moto: RunningMoto, push: EcrPusher, tmp_path: Path
) -> None:
    for name in ("team/api", "team/web", "team/tmp"):
        push.repository(name)
        push.image(name, "v1", [name.encode()])
    calls: list[str] = []
    inventory = scan(moto, tmp_path, repos=("team/api", "team/gone"), on_call=calls.append)
    assert [r.name for r in inventory.repositories] == ["team/api"]
    [error] = inventory.errors
    assert (error.repository, error.reason.split(":")[:2]) == (
        "team/gone",
        ["ECR DescribeImages", " RepositoryNotFoundException"],
    )
    assert "DescribeRepositories" not in calls
    filtered = scan(moto, tmp_path, exclude=("*/tmp",))
    assert [r.name for r in filtered.repositories] == ["team/api", "team/web"]


def test_the_inventory_file_keeps_what_only_ecr_knows(moto: RunningMoto, push: EcrPusher, tmp_path: Path) -> None:
    push.repository("svc")
    push.image("svc", "v1", [b"v1" * 50])
    push.image("svc", None, [b"old" * 50])
    inventory = scan(moto, tmp_path)
    again = inventory_file.loads(inventory_file.dumps(inventory))
    assert again.repositories == inventory.repositories and again.repositories[0].untagged
    assert again.manifests == inventory.manifests
    assert all(record.pushed_at is not None for record in again.manifests.values())
    assert again.figures.unique_bytes == inventory.figures.unique_bytes


def test_an_empty_registry_names_the_callers_account(moto: RunningMoto, tmp_path: Path) -> None:
    calls: list[str] = []
    inventory = scan(moto, tmp_path, on_call=calls.append)
    assert (inventory.registry, inventory.repositories, inventory.errors) == (REGISTRY, (), ())
    assert calls == ["DescribeRepositories", "DescribeRegistry"]


def test_a_region_that_contradicts_the_target_is_refused(moto: RunningMoto, tmp_path: Path) -> None:
    with pytest.raises(InvalidReference, match=r"the target names region us-east-1 but --region says eu-west-1"):
        scan(moto, tmp_path, region="eu-west-1")


def test_an_unknown_profile_is_one_sentence(moto: RunningMoto, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^--profile: the AWS profile 'nope' is not configured\.$"):
        scan(moto, tmp_path, profile="nope")


def test_one_image_in_two_repositories_is_fetched_once(moto: RunningMoto, push: EcrPusher, tmp_path: Path) -> None:
    push.repository("app")
    push.repository("app-mirror")
    first = push.image("app", "1", [b"shared" * 10])
    push.tag("app-mirror", first, "1")
    calls: list[str] = []
    inventory = scan(moto, tmp_path, on_call=calls.append)
    assert Counter(calls) == {"DescribeRepositories": 1, "DescribeImages": 2, "BatchGetImage": 1}
    assert [r.name for r in inventory.repositories] == ["app", "app-mirror"]
    assert set(inventory.manifests) == {first.digest}


def test_requests_are_the_minimum_and_a_warm_cache_skips_every_manifest(
    moto: RunningMoto, push: EcrPusher, tmp_path: Path
) -> None:
    push.repository("many")
    push.repository("few")
    push.repository("empty")
    for n in range(230):
        push.image("many", f"t{n}" if n % 2 else None, [f"layer {n}".encode()])
    push.image("few", "only", [b"one"])
    calls: list[str] = []
    events: list[ScanEvent] = []
    cold = scan(moto, tmp_path, on_call=calls.append, progress=events.append)
    # 230 manifests of one repository: ceil(230 / 100) = 3 BatchGetImage calls, 1 for `few`;
    # one DescribeImages page a repository (under 1,000 images each), the empty one included.
    assert Counter(calls) == {"DescribeRepositories": 1, "DescribeImages": 3, "BatchGetImage": 4}
    assert len(cold.manifests) == 231
    # progress as the registry scan reports it: counts only grow, and end at the totals
    assert all(a.repositories_done <= b.repositories_done and a.bytes_seen <= b.bytes_seen for a, b in pairwise(events))
    last = events[-1]
    assert (last.repositories_listed, last.repositories_done, last.tags_total, last.tags_done) == (3, 3, 116, 116)
    assert (last.manifests_fetched, last.errors) == (231, 0)
    calls.clear()
    events.clear()
    warm = scan(moto, tmp_path, on_call=calls.append, progress=events.append)
    assert Counter(calls) == {"DescribeRepositories": 1, "DescribeImages": 3}
    assert events[-1].manifests_fetched == 0 and events[-1].tags_done == 116
    assert warm.manifests == cold.manifests
    assert warm.repositories == cold.repositories and {r.name: len(r.untagged) for r in warm.repositories} == {
        "empty": 0,
        "few": 0,
        "many": 115,
    }


def test_no_credentials_is_one_sentence(moto: RunningMoto, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    with pytest.raises(CredentialsRejected) as caught:
        scan(moto, tmp_path)
    assert str(caught.value).startswith("no AWS credentials were found")
    assert "\n" not in str(caught.value)


def test_a_repository_that_cannot_be_read_is_an_error_and_the_scan_goes_on(
    moto: RunningMoto, push: EcrPusher, tmp_path: Path
) -> None:
    import boto3

    push.repository("open")
    push.repository("secret")
    fine = push.image("open", "v1", [b"ok"])
    session = boto3.Session()

    def deny(params: dict[str, Any], **_: Any) -> Any:
        if json.loads(params["body"]).get("repositoryName") != "secret":
            return None  # on to moto
        body = {"__type": "AccessDeniedException", "message": "User is not authorized to perform ecr:DescribeImages"}
        return answer(body, status=400)

    session.events.register("before-call.ecr.DescribeImages", deny)
    result = scan(moto, tmp_path, session=session)
    assert [(t.tag, t.digest) for r in result.repositories for t in r.tags] == [("v1", fine.digest)]
    [error] = result.errors
    assert error.repository == "secret"
    assert error.reason.startswith("ECR DescribeImages: AccessDeniedException: User is not authorized")


def test_lifecycle_policies_are_read_and_evaluated(moto: RunningMoto, push: EcrPusher, tmp_path: Path) -> None:
    policy = {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Keep only one untagged image, expire all others",
                "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
                "action": {"type": "expire"},
            }
        ]
    }
    push.repository("kept", lifecycle_policy=policy)
    push.repository("plain")
    images = []
    for n in range(3):
        images.append(push.image("kept", None, [f"untagged {n}".encode() * 100]))
        time.sleep(1.0)  # moto stamps pushes to the second: one second apart, their order is plain
    tagged = push.image("kept", "v1", [b"tagged"])
    inventory = scan(moto, tmp_path)
    texts = lifecycle_policies(EcrTarget(REGION, None), ["kept", "plain"], endpoint_url=moto.url)
    assert texts["plain"] is None
    assert texts["kept"] is not None
    plan = lifecycle_plan(inventory, "kept", parse_policy(texts["kept"], "kept"))
    # keep only one untagged image: the two oldest go, the tagged image is no rule's
    assert [e.digest for e in plan.expired] == [images[0].digest, images[1].digest]
    assert plan.kept_tags == {"v1"} and plan.expired_untagged == {images[0].digest, images[1].digest}
    after = expired_inventory(inventory, {"kept": plan})
    freed = inventory.figures.unique_bytes - after.figures.unique_bytes
    assert freed == sum(sum(i.stored.values()) for i in images[:2])
    assert after.figures.unique_bytes == sum(images[2].stored.values()) + sum(tagged.stored.values())


# -- what moto cannot show: pages, pull times ---------------------------------------------


def answer(body: dict[str, Any], status: int = 200) -> tuple[Any, dict[str, Any]]:
    """A before-call answer in botocore's shape: (HTTP response, parsed body)."""
    from botocore.awsrequest import AWSResponse

    response = AWSResponse("https://ecr.invalid/", status, {}, None)
    if status >= 300:
        error = {"Error": {"Code": body["__type"], "Message": body["message"]}, "ResponseMetadata": {}}
        return response, error
    return response, {**body, "ResponseMetadata": {"HTTPStatusCode": status}}


def manifest(n: int) -> tuple[str, str]:
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + "c" * 64,
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{n:064x}",
                    "size": n + 1,
                }
            ],
        }
    )
    import hashlib

    return "sha256:" + hashlib.sha256(body.encode()).hexdigest(), body


def test_pages_of_1000_images_and_batches_of_100_manifests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    for name, value in aws_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    images = [manifest(n) for n in range(2500)]
    bodies = dict(images)
    pulled = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    calls: list[tuple[str, dict[str, Any]]] = []
    session = boto3.Session()

    def ecr(model: Any, params: dict[str, Any], **_: Any) -> Any:
        params = json.loads(params["body"])  # the request as sent (before-call sees it serialized)
        calls.append((model.name, params))
        if model.name == "DescribeRepositories":
            return answer({"repositories": [{"repositoryName": "big", "registryId": ACCOUNT}]})
        if model.name == "DescribeImages":
            start = int(params.get("nextToken", "0"))
            page = images[start : start + params["maxResults"]]
            details = [
                {
                    "imageDigest": d,
                    "imageTags": [f"t{start + i}"],
                    "imagePushedAt": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=start + i),
                    "lastRecordedPullTime": pulled,
                    "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
                }
                for i, (d, _) in enumerate(page)
            ]
            more = start + len(page) < len(images)
            return answer({"imageDetails": details, **({"nextToken": str(start + len(page))} if more else {})})
        assert model.name == "BatchGetImage"
        found = [
            {
                "imageId": i,
                "imageManifest": bodies[i["imageDigest"]],
                "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
            }
            for i in params["imageIds"]
        ]
        return answer({"images": found, "failures": []})

    session.events.register("before-call.ecr", ecr)
    result = scan_ecr("ecr://us-east-1", ScanOptions(cache_dir=tmp_path / "cache"), session=session)
    counts = Counter(name for name, _ in calls)
    assert counts == {"DescribeRepositories": 1, "DescribeImages": 3, "BatchGetImage": 25}
    assert all(p["maxResults"] == 1000 for n, p in calls if n in ("DescribeImages", "DescribeRepositories"))
    assert all(len(p["imageIds"]) == 100 for n, p in calls if n == "BatchGetImage")
    assert len(result.repositories[0].tags) == 2500
    assert {r.last_pulled_at for r in result.manifests.values()} == {pulled}
    assert result.manifests[images[-1][0]].pushed_at == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=2499)
    assert result.figures.unique_bytes == sum(len(b) + 2 + n + 1 for n, (_, b) in enumerate(images)) - 2 * 2499


def test_an_image_listed_without_a_valid_digest_is_an_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    for name, value in aws_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    digest, body = manifest(1)
    session = boto3.Session()

    def ecr(model: Any, **_: Any) -> Any:
        if model.name == "DescribeRepositories":
            return answer({"repositories": [{"repositoryName": "odd", "registryId": ACCOUNT}]})
        if model.name == "DescribeImages":
            return answer(
                {
                    "imageDetails": [
                        {"imageDigest": "md5:\x1b[31mabc", "imageTags": ["bad"]},
                        {"imageDigest": digest, "imageTags": ["good"]},
                    ]
                }
            )
        return answer({"images": [{"imageId": {"imageDigest": digest}, "imageManifest": body}], "failures": []})

    session.events.register("before-call.ecr", ecr)
    inventory = scan_ecr("ecr://us-east-1", ScanOptions(use_cache=False), session=session)
    assert [(t.tag, t.digest) for t in inventory.repositories[0].tags] == [("good", digest)]
    [error] = inventory.errors
    assert error.repository == "odd" and "\x1b" not in error.reason
    assert error.reason.startswith("ECR DescribeImages listed an image with the invalid digest")


def test_a_manifest_ecr_cannot_give_or_that_fails_its_digest_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    for name, value in aws_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    (good, good_body), (tampered, _), (missing, _) = manifest(1), manifest(2), manifest(3)
    session = boto3.Session()

    def ecr(model: Any, **_: Any) -> Any:
        if model.name == "DescribeRepositories":
            return answer({"repositories": [{"repositoryName": "svc", "registryId": ACCOUNT}]})
        if model.name == "DescribeImages":
            return answer(
                {
                    "imageDetails": [
                        {"imageDigest": d, "imageTags": [t]} for d, t in [(good, "a"), (tampered, "b"), (missing, "c")]
                    ]
                }
            )
        images = [
            {"imageId": {"imageDigest": good}, "imageManifest": good_body},
            {"imageId": {"imageDigest": tampered}, "imageManifest": good_body},  # another manifest's body
        ]
        failures = [
            {
                "imageId": {"imageDigest": missing},
                "failureCode": "ImageNotFound",
                "failureReason": "Requested image not found",
            }
        ]
        return answer({"images": images, "failures": failures})

    session.events.register("before-call.ecr", ecr)
    inventory = scan_ecr("ecr://us-east-1", ScanOptions(use_cache=False), session=session)
    assert [(t.tag, t.digest) for t in inventory.repositories[0].tags] == [("a", good)]
    reasons = {(e.tag, e.digest): e.reason for e in inventory.errors}
    assert reasons[("b", tampered)].startswith(f"content of {tampered} does not match its digest")
    assert reasons[("c", missing)] == "ECR BatchGetImage: ImageNotFound: Requested image not found."
    assert set(inventory.manifests) == {good}
