"""What an inventory tells about the digests and tags a log names: sizes, platforms, tags."""

from __future__ import annotations

from dataclasses import dataclass

from costcalc.inventory.model import Inventory
from costcalc.reference import is_valid_digest


@dataclass(frozen=True, slots=True)
class InventoryLookup:
    """Bytes by digest (manifests, configs, layers), platforms of image manifests, and tags."""

    size_by_digest: dict[str, int]
    platform_by_digest: dict[str, str]
    digest_by_tag: dict[tuple[str, str], str]
    tag_by_digest: dict[tuple[str, str], str]  # only digests with a single tag in their repository

    @classmethod
    def of(cls, inventory: Inventory) -> InventoryLookup:
        sizes: dict[str, int] = {}
        platforms: dict[str, str] = {}
        for digest, record in inventory.manifests.items():
            sizes[digest] = record.size_bytes
            if record.platform is not None and not record.is_index:
                platforms[digest] = record.platform
            for blob in (record.config, *record.layers):
                if blob is not None and not blob.foreign:  # foreign layers come from their URLs
                    sizes[blob.digest] = blob.size_bytes
        digests = {(repo.name, ref.tag): ref.digest for repo in inventory.repositories for ref in repo.tags}
        tags: dict[tuple[str, str], str | None] = {}
        for (repository, tag), digest in digests.items():
            tags[(repository, digest)] = tag if (repository, digest) not in tags else None
        single = {key: tag for key, tag in tags.items() if tag is not None}
        return cls(sizes, platforms, digests, single)

    def digest(self, repository: str, reference: str) -> str | None:
        """The digest REFERENCE names: itself if it is one, else the digest of that tag of REPOSITORY."""
        return reference if is_valid_digest(reference) else self.digest_by_tag.get((repository, reference))

    def size_bytes(self, repository: str, reference: str) -> int | None:
        """Bytes of the blob or manifest REFERENCE (a digest, or a tag of REPOSITORY), None if unknown."""
        digest = self.digest(repository, reference)
        return None if digest is None else self.size_by_digest.get(digest)

    def platform(self, repository: str, reference: str) -> str | None:
        """The platform of the image manifest REFERENCE names, None for an index or an unknown one."""
        digest = self.digest(repository, reference)
        return None if digest is None else self.platform_by_digest.get(digest)

    def tag(self, repository: str, digest: str) -> str | None:
        """The tag of DIGEST in REPOSITORY, if it has exactly one."""
        return self.tag_by_digest.get((repository, digest))
