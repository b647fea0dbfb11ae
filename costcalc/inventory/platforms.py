"""Figures of one tagged image: its platforms, image and pull bytes, creation time (pure)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from costcalc.inventory.records import DEFAULT_PLATFORM, ChildRef, ManifestRecord, image_bytes


class ImageFigures:
    """What a report asks of one tagged manifest, read from the inventory's manifests.

    Every walk below an index is iterative and visits each manifest once: a hostile index
    may nest thousands of levels deep, or contain itself.
    """

    def __init__(self, manifests: Mapping[str, ManifestRecord]) -> None:
        self.manifests = manifests

    def platforms(self, digest: str) -> dict[str, int]:
        """Image bytes per platform of the tagged manifest DIGEST ({} for artifacts)."""
        record = self.manifests.get(digest)
        if record is None or record.kind == "artifact":
            return {}
        if not record.children:
            return {record.platform or "unknown": image_bytes(record)}
        result: dict[str, int] = {}
        for child, child_record in self._image_children(digest):  # nested indexes flattened
            if child_record.kind == "artifact":
                continue
            key = child.platform or child_record.platform or "unknown"
            result.setdefault(key, image_bytes(child_record))
        return result

    def platform_manifest(self, digest: str, platform: str) -> str | None:
        """The digest of the image manifest serving PLATFORM for tagged DIGEST, if any."""
        record = self.manifests.get(digest)
        if record is None:
            return None
        if not record.children:
            return digest if (record.platform or "unknown") == platform or record.kind == "image" else None
        for child, child_record in self._image_children(digest):
            if (child.platform or child_record.platform) == platform:
                return child.digest
        return None

    def default_platform(self, digest: str, wanted: str | None = None) -> str | None:
        """WANTED if the image has it, else linux/amd64, else its only (or first) platform."""
        platforms = self.platforms(digest)
        if not platforms:
            return None
        for key in (wanted, DEFAULT_PLATFORM):
            if key and key in platforms:
                return key
        return None if wanted and len(platforms) > 1 else sorted(platforms)[0]

    def pull_bytes(self, digest: str, platform: str) -> int:
        """Bytes of one cold pull: manifest(s) + config + image bytes of PLATFORM."""
        record = self.manifests.get(digest)
        manifest_digest = self.platform_manifest(digest, platform)
        if record is None or manifest_digest is None:
            return 0
        total = record.size_bytes
        chain = [digest]
        if manifest_digest != digest:
            chain = self._index_chain(digest, manifest_digest) or [digest, manifest_digest]
            total = sum(self.manifests[d].size_bytes for d in chain)
        image = self.manifests[manifest_digest]
        if image.config is not None:
            total += image.config.size_bytes
        return total + image_bytes(image)

    def _index_chain(self, start: str, target: str) -> list[str] | None:
        """The first path of known manifests from START down to TARGET (depth-first, iterative)."""
        manifests = self.manifests
        path, seen = [start], {start}
        stack = [iter(manifests[start].children if start in manifests else ())]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                path.pop()
                continue
            if child.digest == target:
                return [*path, target]
            if child.digest in manifests and child.digest not in seen:
                seen.add(child.digest)
                path.append(child.digest)
                stack.append(iter(manifests[child.digest].children))
        return None

    def created(self, digest: str) -> datetime | None:
        """Creation time of a tagged manifest: its config's, or the newest of an index's images."""
        record = self.manifests.get(digest)
        if record is None:
            return None
        if record.created is not None or not record.children:
            return record.created
        # The newest created time of the images below, nested indexes walked iteratively.
        known: list[datetime] = []
        seen, stack = {digest}, [record]
        while stack:
            for child in stack.pop().children:
                child_record = self.manifests.get(child.digest)
                if child.attestation or child_record is None or child.digest in seen:
                    continue
                seen.add(child.digest)
                if child_record.created is not None or not child_record.children:
                    if child_record.created is not None:
                        known.append(child_record.created)
                else:
                    stack.append(child_record)
        return max(known) if known else None

    def _image_children(self, digest: str) -> Iterator[tuple[ChildRef, ManifestRecord]]:
        """Depth-first, in index order: non-attestation entries below index DIGEST that are
        image manifests (nested indexes are entered, each once, so cycles and depth are safe)."""
        record = self.manifests.get(digest)
        seen = {digest}
        stack = [iter(record.children if record else ())]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                continue
            child_record = self.manifests.get(child.digest)
            if child.attestation or child_record is None:
                continue
            if child_record.children:
                if child.digest not in seen and child_record.kind != "artifact":
                    seen.add(child.digest)
                    stack.append(iter(child_record.children))
                continue
            yield child, child_record
