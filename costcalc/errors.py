"""The error tree of costcalc; every message is a complete sentence a user can act on.

    CostcalcError            str(exc) is a complete sentence a user can act on
    ├── InvalidReference     "ghcr.io//x": not a valid repository name
    ├── InputError           usage.csv:14: pulls_per_month: must be a number >= 0
    ├── ManifestError        a manifest or config body that cannot be used (shape, size, digest)
    └── RegistryError        GET https://host/v2/acme/api/manifests/v1: 500 UNKNOWN: ...
        ├── Unauthorized     401/403, failed token exchange (says which credentials were tried)
        │   └── CredentialsRejected  the credentials (or their absence) fail for the whole registry
        ├── NotFound         404, MANIFEST_UNKNOWN, NAME_UNKNOWN
        └── Unreachable      DNS failure, refused connection, untrusted TLS certificate

Messages never contain a credential or a token.
"""


class CostcalcError(Exception):
    """Base of every error costcalc reports to a user."""


class InvalidReference(CostcalcError):
    """A registry target, repository name, tag or digest that does not parse."""


class InputError(CostcalcError):
    """A bad input file or value; the message starts with FILE:LINE: field: where known."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class ManifestError(CostcalcError):
    """A manifest or config body that is too large, malformed, or fails digest verification."""


class RegistryError(CostcalcError):
    """A registry or network failure, after retries.

    `status` is the HTTP status and `code` the distribution error code (e.g. UNSUPPORTED)
    of the answer behind it, when there was one.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class Unauthorized(RegistryError):
    """The registry refused the credentials, or the token exchange failed."""


class CredentialsRejected(Unauthorized):
    """The registry or its token server rejected the credentials, or needs some and has none.

    Unlike a 403 on one repository, this holds for every request, so a scan stops on it.
    """


class NotFound(RegistryError):
    """The repository, tag or manifest does not exist."""


class Unreachable(RegistryError):
    """The registry could not be reached at all (DNS, refused connection, untrusted TLS)."""
