"""Who may see the metrics and act on pilots and quotas.

Every role reads the dashboards, over the opportunities it may see (an SA: their teams' and
their own deals). Pilots compare whole arms across teams, so their pages are for managers,
curators (who keep the processes) and admins; managers and admins create pilots, roll a pilot's
process out and set quotas.

The workload page (hours, capacity and utilisation per SA) is a manager's view of the SAs of
the teams they manage, and an admin's of every team. An SA does not see colleagues'
utilisation, and a curator has no team to staff: both are refused. A capacity is set by a
manager of one of the SA's teams, or an admin.
"""

from epos.lib.roles import ADMIN, CURATOR, MANAGER, SA, has_role, user_roles
from opportunities import permissions as opportunity_permissions


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


def can_view_workload(user) -> bool:
    return has_role(user, MANAGER, ADMIN)


def can_set_capacity(user, sa) -> bool:
    """May `user` set the weekly capacity of `sa` (an SA)? One query for a manager."""
    if not has_role(sa, SA):
        return False
    if has_role(user, ADMIN):
        return True
    if not has_role(user, MANAGER):
        return False
    managed = opportunity_permissions.managed_team_ids(user)
    return bool(managed & opportunity_permissions.member_team_ids(sa))
