"""Who may see the metrics and act on pilots and quotas.

Every role reads the dashboards, over the opportunities it may see (an SA: their teams' and
their own deals). Pilots compare whole arms across teams, so their pages are for managers,
curators (who keep the processes) and admins; managers and admins create pilots, roll a pilot's
process out and set quotas.
"""

from epos.lib.roles import ADMIN, CURATOR, MANAGER, has_role, user_roles


def can_view_dashboards(user) -> bool:
    return bool(user_roles(user))


def can_view_pilots(user) -> bool:
    return has_role(user, MANAGER, CURATOR, ADMIN)


def can_manage_pilots(user) -> bool:
    return has_role(user, MANAGER, ADMIN)


def can_roll_out(user) -> bool:
    return has_role(user, MANAGER, ADMIN)


def can_manage_quotas(user) -> bool:
    return has_role(user, MANAGER, ADMIN)
