"""Source classes of clients: which egress class a client address is billed as (`--network CLASS=CIDR`)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from costcalc.errors import InputError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SAME_REGION = "same-region"
INTERNET = "internet"
# Private (RFC 1918, RFC 4193), loopback and link-local ranges: clients inside the registry's
# own network, whose pulls a cloud bills as same-region transfer.
DEFAULT_PRIVATE = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)
# CloudTrail names an AWS service acting for the account instead of an address.
_AWS_SERVICE = re.compile(r"AWS Internal|[a-z0-9.-]+\.amazonaws\.com")
_CLASS = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Networks:
    """CIDR ranges with their class; the longest matching prefix wins, then the defaults."""

    ranges: tuple[tuple[Network, str], ...]
    _seen: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # a log has few clients

    @classmethod
    def parse(cls, specs: Iterable[tuple[str, str]]) -> Networks:
        """Networks from (where, `CLASS=CIDR`) pairs; InputError naming WHERE for a bad one."""
        ranges: list[tuple[Network, str]] = []
        problems: list[str] = []
        for where, spec in specs:
            name, equals, cidr = spec.partition("=")
            name, cidr = name.strip(), cidr.strip()
            if not equals or not _CLASS.fullmatch(name):
                problems.append(f"{where}: network: {spec!r} is not CLASS=CIDR (e.g. same-region=10.0.0.0/8)")
                continue
            try:
                ranges.append((ipaddress.ip_network(cidr, strict=False), name))
            except ValueError:
                problems.append(f"{where}: network: {cidr!r} is not an address range (CIDR)")
        if problems:
            raise InputError(problems[0], problems)
        ranges += [(ipaddress.ip_network(cidr), SAME_REGION) for cidr in DEFAULT_PRIVATE]
        ranges.sort(key=lambda item: -item[0].prefixlen)  # stable: given ranges before defaults
        return cls(tuple(ranges))

    def source_class(self, client: str) -> str:
        """The class of the address CLIENT; non-addresses are AWS services or the internet."""
        found = self._seen.get(client)
        if found is None:
            if len(self._seen) >= _SEEN_LIMIT:
                self._seen.clear()
            found = self._seen[client] = _classify(self.ranges, client)
        return found


_SEEN_LIMIT = 1 << 16


def _classify(ranges: tuple[tuple[Network, str], ...], client: str) -> str:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return SAME_REGION if _AWS_SERVICE.fullmatch(client) else INTERNET
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for network, name in ranges:
        if address.version == network.version and address in network:
            return name
    return INTERNET


def read_network_file(text: str, source: str) -> list[tuple[str, str]]:
    """(where, spec) pairs of a networks file: `CLASS=CIDR` per line, `#` comments, blank lines."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        spec = line.split("#", 1)[0].strip()
        if spec:
            found.append((f"{source}:{number}", spec))
    return found
