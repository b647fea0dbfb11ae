"""Amazon ECR through its own API (boto3, the `aws` extra): targets, the client, errors, lifecycle policies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from costcalc import __version__
from costcalc.errors import (
    CostcalcError,
    CredentialsRejected,
    InputError,
    InvalidReference,
    NotFound,
    RegistryError,
    Unauthorized,
    Unreachable,
)
from costcalc.reference import in_namespace, validate_repository
from costcalc.registry.network import sanitize

INSTALL_HINT = "scanning Amazon ECR through its API needs boto3: pip install 'costcalc[aws]'."
# ECR's documented maximum page sizes (DescribeRepositories, DescribeImages) and batch size
# (BatchGetImage imageIds): https://docs.aws.amazon.com/AmazonECR/latest/APIReference/
PAGE_SIZE = 1000
BATCH_SIZE = 100

_HOST = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?P<fips>-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
    r"\.(?P<suffix>amazonaws\.com(?:\.cn)?)"
)
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_SCHEME = "ecr://"
# Errors that hold for every call the credentials make: the scan stops on the first one.
_CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)
_NOT_FOUND_CODES = frozenset({"RepositoryNotFoundException", "ImageNotFoundException", "RegistryNotFoundException"})

OnCall = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class EcrTarget:
    """An ECR registry to scan through the API: account (None = the caller's), region, prefix."""

    region: str | None  # None: the profile's or the environment's region (`ecr://`)
    account: str | None
    namespace: str = ""
    suffix: str = "amazonaws.com"
    fips: bool = False

    def registry_host(self, account: str, region: str) -> str:
        """ACCOUNT.dkr.ecr[-fips].REGION.SUFFIX: the host `docker pull` uses for this registry."""
        return f"{account}.dkr.ecr{'-fips' if self.fips else ''}.{region}.{self.suffix}"

    def holds(self, repository: str) -> bool:
        return in_namespace(self.namespace, repository)


def parse_ecr_target(text: str) -> EcrTarget | None:
    """ACCOUNT.dkr.ecr.REGION.amazonaws.com[/PREFIX] or ecr://REGION[/PREFIX]; None for any other host.

    `ecr://` alone means the caller's account in the profile's region. A bad prefix or region
    in an ECR target raises InvalidReference.
    """
    raw = text.strip()
    if raw.lower().startswith(_SCHEME):
        region, _, namespace = raw[len(_SCHEME) :].rstrip("/").partition("/")
        if region and not _REGION.fullmatch(region):
            raise InvalidReference(f"{text!r}: {region!r} is not an AWS region (expected ecr://REGION[/PREFIX]).")
        return EcrTarget(region=region or None, account=None, namespace=_namespace(namespace, text))
    for scheme in ("https://", "http://"):
        if raw.lower().startswith(scheme):
            raw = raw[len(scheme) :]
    host, _, namespace = raw.rstrip("/").partition("/")
    match = _HOST.fullmatch(host.lower())
    if match is None:
        return None
    return EcrTarget(
        region=match["region"],
        account=match["account"],
        namespace=_namespace(namespace, text),
        suffix=match["suffix"],
        fips=bool(match["fips"]),
    )


def _namespace(namespace: str, text: str) -> str:
    if namespace:
        try:
            validate_repository(namespace, what="namespace")
        except InvalidReference as exc:
            raise InvalidReference(f"{text!r}: {exc}") from None
    return namespace


def api_available() -> bool:
    """True if boto3 is installed, so ECR targets can be scanned through the ECR API."""
    try:
        import boto3  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Connection:
    """An ECR API client, its region, and the registryId every call names (None: the caller's own)."""

    client: Any  # boto3's ECR client (boto3 ships no type information)
    region: str
    registry_id: str | None  # None: the caller's own registry

    def paginate(self, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        """The pages of OPERATION, PAGE_SIZE items a page, through boto3's paginator."""
        if self.registry_id is not None:
            params["registryId"] = self.registry_id
        paginator = self.client.get_paginator(operation)
        try:
            yield from paginator.paginate(**params, PaginationConfig={"PageSize": PAGE_SIZE})
        except Exception as exc:
            raise translate(exc, operation) from None

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One call of OPERATION (snake_case, as boto3 names it), its errors translated."""
        if self.registry_id is not None:
            params["registryId"] = self.registry_id
        try:
            result: dict[str, Any] = getattr(self.client, operation)(**params)
        except Exception as exc:
            raise translate(exc, operation) from None
        return result


def connect(
    target: EcrTarget,
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    concurrency: int = 8,
    on_call: OnCall | None = None,
    session: Any = None,
) -> Connection:
    """An ECR client through the standard AWS credential chain (environment, PROFILE, SSO, roles).

    REGION, when given, must agree with the target's; ON_CALL is called with the name of
    every request sent (retries included), for progress and request counts. SESSION, a
    boto3.Session, replaces the one made from PROFILE (a caller's assumed role, say).
    """
    try:
        import boto3
        import botocore.config  # type: ignore[import-untyped,unused-ignore]
        import botocore.exceptions  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise CostcalcError(INSTALL_HINT) from None
    if region and target.region and region != target.region:
        raise InvalidReference(f"the target names region {target.region} but --region says {region}; use one of them.")
    try:
        session = session or boto3.Session(profile_name=profile)
    except botocore.exceptions.ProfileNotFound:
        raise InputError(f"--profile: the AWS profile {profile!r} is not configured.") from None
    chosen = target.region or region or session.region_name
    if not chosen:
        raise InputError("no AWS region is set: name one in the target (ecr://REGION) or with --region.")
    config = botocore.config.Config(
        user_agent_extra=f"costcalc/{__version__}",
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max(10, concurrency),
    )
    client = session.client("ecr", region_name=chosen, endpoint_url=endpoint_url, config=config)
    if on_call is not None:
        hook = on_call

        def count(event_name: str, **_: Any) -> None:
            hook(event_name.rsplit(".", 1)[-1])

        client.meta.events.register("before-send.ecr", count)
    return Connection(client=client, region=chosen, registry_id=target.account)


def translate(exc: Exception, operation: str) -> CostcalcError:
    """A boto3/botocore failure of OPERATION as costcalc's error (one sentence, no secrets)."""
    import botocore.exceptions  # type: ignore[import-untyped,unused-ignore]

    if isinstance(exc, CostcalcError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = sanitize(str(error.get("Message", "")), 200).rstrip(".")
        what = f"ECR {_api_name(operation)}: {code}" + (f": {message}" if message else "")
        if code in _CREDENTIAL_CODES:
            return CredentialsRejected(f"{what}; AWS rejected the credentials (check --profile, or run aws sso login).")
        if code == "AccessDeniedException":
            return Unauthorized(f"{what}.")
        if code in _NOT_FOUND_CODES:
            return NotFound(f"{what}.")
        return RegistryError(f"{what}.")
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return CredentialsRejected(
            "no AWS credentials were found (environment, shared config and credentials files, SSO, "
            "instance or task role); set AWS_PROFILE, use --profile, or run aws configure."
        )
    if isinstance(exc, botocore.exceptions.TokenRetrievalError | botocore.exceptions.SSOError):
        return CredentialsRejected(f"the AWS SSO session cannot be used ({type(exc).__name__}); run aws sso login.")
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectionError):
        return Unreachable(f"the ECR API cannot be reached ({type(exc).__name__}).")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return RegistryError(f"ECR {_api_name(operation)} failed: {sanitize(str(exc), 200)}")
    raise exc


def _api_name(operation: str) -> str:
    """describe_images -> DescribeImages (errors name the API action, as AWS documents it)."""
    return "".join(part.title() for part in operation.split("_")) if "_" in operation else operation


def lifecycle_policies(
    target: EcrTarget,
    repositories: Iterable[str],
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    on_call: OnCall | None = None,
    session: Any = None,
) -> dict[str, str | None]:
    """Each of REPOSITORIES' lifecycle policy text (GetLifecyclePolicy), None where it has none.

    One request per repository. The texts are ECR's JSON, for
    costcalc.scenarios.ecr_lifecycle.parse_policy.
    """
    connection = connect(
        target, profile=profile, region=region, endpoint_url=endpoint_url, on_call=on_call, session=session
    )
    import botocore.exceptions  # present: connect() needs it

    policies: dict[str, str | None] = {}
    for name in repositories:
        params: dict[str, Any] = {"repositoryName": name}
        if connection.registry_id is not None:
            params["registryId"] = connection.registry_id
        try:
            reply = connection.client.get_lifecycle_policy(**params)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "LifecyclePolicyNotFoundException":
                policies[name] = None
                continue
            raise translate(exc, "get_lifecycle_policy") from None
        except Exception as exc:
            raise translate(exc, "get_lifecycle_policy") from None
        policies[name] = str(reply.get("lifecyclePolicyText") or "") or None
    return policies
