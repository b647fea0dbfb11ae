"""Blob and manifest sizes from an inventory, for logs that record no response sizes (CloudTrail)."""

from __future__ import annotations

from dataclasses import dataclass

from costcalc.inventory.model import Inventory


@dataclass(frozen=True, slots=True)
class BlobSizes:
    """Bytes by digest (manifests, configs, layers) and manifest digests by repository and tag."""

    by_digest: dict[str, int]
    by_tag: dict[tuple[str, str], str]

    @classmethod
    def of(cls, inventory: Inventory) -> BlobSizes:
        by_digest: dict[str, int] = {}
        for digest, record in inventory.manifests.items():
            by_digest[digest] = record.size_bytes
            for blob in (record.config, *record.layers):
                if blob is not None and not blob.foreign:
                    by_digest[blob.digest] = blob.size_bytes
        by_tag = {(repo.name, ref.tag): ref.digest for repo in inventory.repositories for ref in repo.tags}
        return cls(by_digest, by_tag)

    def size_bytes(self, repository: str, reference: str) -> int | None:
        """Bytes of the blob or manifest REFERENCE (a digest, or a tag of REPOSITORY), None if unknown."""
        digest = reference if reference.startswith("sha") else self.by_tag.get((repository, reference))
        return None if digest is None else self.by_digest.get(digest)
