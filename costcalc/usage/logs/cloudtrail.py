"""AWS CloudTrail events of Amazon ECR: `BatchGetImage` (a manifest) and `GetDownloadUrlForLayer` (a blob).

The event shapes are those of the ECR user guide's CloudTrail examples
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/logging-using-cloudtrail.html). CloudTrail
records no response sizes: blob bytes come from an inventory, where one is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costcalc.reference import DIGEST_RE, MAX_REPOSITORY_LENGTH, REPOSITORY_RE, TAG_RE
from costcalc.usage.logs.request import BadLine, Request, iso_time

ECR_SOURCE = "ecr.amazonaws.com"


def parse_record(record: object) -> list[Request]:
    """The requests one CloudTrail event RECORD stands for; BadLine if it is not an event.

    Events of other services and other ECR actions come back as one request of kind other
    (they still tell the log's time span); a failed call (errorCode) as a 4xx answer."""
    if not isinstance(record, Mapping):
        raise BadLine("not a JSON object")
    when = record.get("eventTime")
    if not isinstance(when, str):
        raise BadLine("eventTime: missing or not a string")
    moment = iso_time(when)
    source, name = record.get("eventSource"), record.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str):
        raise BadLine("eventSource, eventName: missing or not strings")
    if source != ECR_SOURCE or name not in ("BatchGetImage", "GetDownloadUrlForLayer"):
        return [Request(moment, "", "", "", "other")]
    client = _text(record, "sourceIPAddress")
    agent = _text(record, "userAgent")
    answer = 400 if record.get("errorCode") else 200
    parameters = record.get("requestParameters")
    if not isinstance(parameters, Mapping):
        if answer != 200:  # a denied call may carry no parameters: nothing was served
            return [Request(moment, client, agent, "GET", "other", status=answer)]
        raise BadLine("requestParameters: missing or not an object")
    repository = parameters.get("repositoryName")
    if not isinstance(repository, str) or len(repository) > MAX_REPOSITORY_LENGTH:
        raise BadLine("requestParameters.repositoryName: missing or not a string")
    if not REPOSITORY_RE.fullmatch(repository):
        raise BadLine(f"requestParameters.repositoryName: {repository[:60]!r} is not a repository name")
    if name == "GetDownloadUrlForLayer":
        digest = parameters.get("layerDigest")
        if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
            raise BadLine("requestParameters.layerDigest: missing or not a digest")
        return [Request(moment, client, agent, "GET", "blob", repository, digest, answer)]
    image_ids = parameters.get("imageIds")
    if not isinstance(image_ids, list) or not image_ids:
        raise BadLine("requestParameters.imageIds: missing or not a list")
    return [Request(moment, client, agent, "GET", "manifest", repository, _reference(i), answer) for i in image_ids]


def records(document: object) -> list[Any]:
    """The `Records` list of a CloudTrail log file; BadLine if DOCUMENT has none."""
    if not isinstance(document, Mapping) or not isinstance(document.get("Records"), list):
        raise BadLine("not a CloudTrail log file (no Records list)")
    return list(document["Records"])


def _reference(image_id: object) -> str:
    if not isinstance(image_id, Mapping):
        raise BadLine("requestParameters.imageIds: an entry is not an object")
    tag, digest = image_id.get("imageTag"), image_id.get("imageDigest")
    if isinstance(tag, str) and TAG_RE.fullmatch(tag):
        return tag
    if isinstance(digest, str) and DIGEST_RE.fullmatch(digest):
        return digest
    raise BadLine("requestParameters.imageIds: an entry has no valid imageTag or imageDigest")


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""
