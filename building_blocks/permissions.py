"""Who may see and change building blocks, the catalog and training paths.

Curators (and admins) write the library and see every block in every state; everyone else with
an EPOS role reads published blocks only. A user with no role sees nothing.
"""

from django.db.models import Q

from building_blocks.models import BuildingBlock
from epos.lib.roles import ADMIN, CURATOR, MANAGER, has_role, user_roles


def can_curate(user) -> bool:
    return has_role(user, CURATOR, ADMIN)


def block_visibility_q(user) -> Q | None:
    """A filter for the blocks the user may read; None means all of them."""
    roles = user_roles(user)
    if roles & {CURATOR, ADMIN}:
        return None
    if not roles:
        return Q(pk__in=[])
    return Q(status=BuildingBlock.Status.PUBLISHED)


def can_view_block(user, block: BuildingBlock) -> bool:
    roles = user_roles(user)
    if roles & {CURATOR, ADMIN}:
        return True
    return bool(roles) and block.status == BuildingBlock.Status.PUBLISHED


def can_review_block(user, block: BuildingBlock) -> bool:
    """A second pair of eyes: a curator other than the block's author approves it."""
    return can_curate(user) and block.owner_id != user.pk


def can_see_team_training(user) -> bool:
    return has_role(user, MANAGER, ADMIN)
