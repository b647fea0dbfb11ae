"""A fleet's inventories merged per registry: one registry stores a blob once, two never share (pure).

Inventories of one registry (say two namespaces scanned by two jobs) become one inventory, so
a layer both namespaces use is counted as that registry's dedup scope says. Inventories of
different registries stay apart: no registry stores another's blobs.

Inventories are folded in one at a time and only a summary of each is kept, so a fleet's
memory grows with its distinct manifests, not with the number of files it was scanned into.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from costcalc.inventory.model import Inventory, ManifestRecord, Repository, ScanError
from costcalc.reference import canonical_registry


@dataclass(frozen=True, slots=True)
class InputSummary:
    """One inventory as given: SOURCE is the file or scan target it came from."""

    source: str
    registry: str
    namespace: str
    scanned_at: datetime
    repositories: int
    tags: int
    errors: int


@dataclass(frozen=True, slots=True)
class RegistryInventory:
    """The inventories of one registry merged into one, and the inputs it came from."""

    registry: str
    inventory: Inventory
    inputs: tuple[InputSummary, ...]
    warnings: tuple[str, ...]  # repositories found in two inputs, and which scan was kept


def registry_name(registry: str) -> str:
    """REGISTRY as a fleet names it: lower case, Docker Hub's three host names as `docker.io`."""
    return canonical_registry(registry)


@dataclass(slots=True)
class _Registry:
    """What is known of one registry so far: each repository from the newest scan naming it."""

    inputs: list[InputSummary] = field(default_factory=list)
    repositories: dict[str, tuple[Repository, InputSummary]] = field(default_factory=dict)
    manifests: dict[str, ManifestRecord] = field(default_factory=dict)
    errors: list[tuple[ScanError, InputSummary]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    first: Inventory | None = None  # the only inventory, while there is one (not folded yet)


class Fleet:
    """Inventories folded in one by one (add), then merged per registry (registries)."""

    def __init__(self) -> None:
        self._registries: dict[str, _Registry] = {}

    def add(self, source: str, inventory: Inventory) -> None:
        """Fold INVENTORY (read from SOURCE) into its registry's."""
        name = registry_name(inventory.registry)
        summary = InputSummary(
            source=source,
            registry=name,
            namespace=inventory.namespace,
            scanned_at=inventory.scanned_at,
            repositories=len(inventory.repositories),
            tags=sum(len(repository.tags) for repository in inventory.repositories),
            errors=len(inventory.errors),
        )
        known = self._registries.setdefault(name, _Registry())
        known.inputs.append(summary)
        if len(known.inputs) == 1:  # a registry of one inventory is that inventory: nothing to fold
            known.first = inventory
            return
        if known.first is not None:
            self._fold(known, known.first, known.inputs[0])
            known.first = None
        self._fold(known, inventory, summary)

    @staticmethod
    def _fold(known: _Registry, inventory: Inventory, summary: InputSummary) -> None:
        """INVENTORY's repositories, manifests and errors into KNOWN; a repository known already is
        kept from the newer scan."""
        for repository in inventory.repositories:
            held = known.repositories.get(repository.name)
            if held is None:
                known.repositories[repository.name] = (repository, summary)
                continue
            older, newer = (held[1], summary) if summary.scanned_at > held[1].scanned_at else (summary, held[1])
            known.warnings.append(
                f"{summary.registry}/{repository.name} is in both {older.source} and {newer.source}; "
                f"the newer scan ({newer.source}, {newer.scanned_at.date().isoformat()}) is used."
            )
            if newer is summary:
                known.repositories[repository.name] = (repository, summary)
        known.manifests.update(inventory.manifests)
        known.errors.extend((error, summary) for error in inventory.errors)

    def registries(self) -> tuple[RegistryInventory, ...]:
        """Every registry added, by name, its inventories merged into one."""
        return tuple(self._merged(name, self._registries[name]) for name in sorted(self._registries))

    @staticmethod
    def _merged(name: str, known: _Registry) -> RegistryInventory:
        if known.first is not None:
            return RegistryInventory(name, known.first, tuple(known.inputs), ())
        kept = {repository_name: pair[0] for repository_name, pair in known.repositories.items()}
        # Only the manifests the kept repositories reach: an older scan's copy of a repository
        # must not leave its since-deleted images in the registry's storage.
        reachable = _reachable(kept, known.manifests)
        merged = Inventory(
            registry=name,
            scanned_at=min(given.scanned_at for given in known.inputs),
            namespace=_common_namespace([given.namespace for given in known.inputs]),
            repositories=tuple(kept[repository_name] for repository_name in sorted(kept)),
            manifests={digest: known.manifests[digest] for digest in sorted(reachable)},
            errors=tuple(
                error
                for error, given in known.errors
                if error.repository is None
                or error.repository not in known.repositories
                or known.repositories[error.repository][1] is given
            ),
        )
        return RegistryInventory(name, merged, tuple(known.inputs), tuple(known.warnings))


def _reachable(repositories: dict[str, Repository], manifests: dict[str, ManifestRecord]) -> set[str]:
    """Every manifest digest a tag or an untagged entry of REPOSITORIES reaches, children included."""
    seen: set[str] = set()
    pending = [tag.digest for r in repositories.values() for tag in r.tags]
    pending += [digest for r in repositories.values() for digest in r.untagged]
    while pending:
        digest = pending.pop()
        if digest in seen:
            continue
        seen.add(digest)
        record = manifests.get(digest)
        if record is not None:
            pending.extend(child.digest for child in record.children)
            if record.subject is not None:
                pending.append(record.subject)
    return seen & manifests.keys()


def _common_namespace(namespaces: list[str]) -> str:
    """The longest namespace every one of NAMESPACES lies under (`acme/a`, `acme/b` -> `acme`)."""
    parts = [namespace.split("/") if namespace else [] for namespace in namespaces]
    common: list[str] = []
    for components in zip(*parts, strict=False):
        if len(set(components)) != 1:
            break
        common.append(components[0])
    return "/".join(common)
