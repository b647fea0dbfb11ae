"""`--scenario ecr-lifecycle:current`: each repository's lifecycle policy, read from Amazon ECR."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from costcalc.errors import InputError

if TYPE_CHECKING:
    from costcalc.inventory.model import Inventory
    from costcalc.registry.options import ScanOptions
    from costcalc.scenarios.ecr_lifecycle import LifecyclePolicy
    from costcalc.scenarios.spec import Scenario


def current_lifecycle_policies(
    wanted: Sequence[Scenario], source: str, inventory: Inventory, scan: ScanOptions
) -> dict[str, LifecyclePolicy | None] | None:
    """Each repository's policy (None: it has none) when a scenario asks for the current ones.

    The registry is SOURCE when it is an ECR target, else the registry the inventory was
    scanned from; the ECR API answers with the standard AWS credentials (--profile, --region).
    """
    from costcalc.scenarios.spec import EcrLifecycle

    asking = [s for s in wanted if isinstance(s.effect, EcrLifecycle) and s.effect.current]
    if not asking:
        return None
    from costcalc.cli.source import is_file_source
    from costcalc.registry.ecr import api_available, lifecycle_policies, parse_ecr_target
    from costcalc.scenarios.ecr_lifecycle import current_policies

    origin = asking[0].origin
    target = None if is_file_source(source) else parse_ecr_target(source)
    if target is None:
        target = parse_ecr_target(inventory.registry)
    if target is None:
        raise InputError(
            f"{origin}: {inventory.registry} is not an Amazon ECR registry, so it has no lifecycle "
            "policies to read; give a policy file instead (ecr-lifecycle:FILE)."
        )
    if not api_available():
        raise InputError(
            f"{origin}: reading lifecycle policies needs the ECR API: pip install 'costcalc[aws]' (boto3)."
        )
    names = [repo.name for repo in inventory.repositories]
    texts = lifecycle_policies(target, names, profile=scan.aws_profile, region=scan.aws_region)
    return current_policies(texts)
