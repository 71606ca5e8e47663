"""Who may see and change what, one helper per entity.

An SA edits the deals they own (or are account executive on) and reads their teams' deals;
a manager reads and edits the deals of the teams they manage; a curator reads everything;
an admin does everything. A user with no role sees nothing.
"""

from django.db.models import Q, Value

from epos.lib.roles import ADMIN, CURATOR, MANAGER, SA, has_role, user_roles
from opportunities.models import Team


def _team_ids(user) -> tuple[frozenset[int], frozenset[int]]:
    """(member team ids, managed team ids), read in one query and kept on the user object."""
    cached = getattr(user, "_epos_team_ids", None)
    if cached is None:
        members = (
            Team.members.through.objects.filter(user_id=user.pk)
            .annotate(kind=Value("member"))
            .values_list("team_id", "kind")
        )
        managers = (
            Team.managers.through.objects.filter(user_id=user.pk)
            .annotate(kind=Value("manager"))
            .values_list("team_id", "kind")
        )
        member_ids, managed_ids = set(), set()
        for team_id, kind in members.union(managers, all=True):
            (member_ids if kind == "member" else managed_ids).add(team_id)
        cached = (frozenset(member_ids), frozenset(managed_ids))
        user._epos_team_ids = cached
    return cached


def member_team_ids(user) -> frozenset[int]:
    return _team_ids(user)[0]


def managed_team_ids(user) -> frozenset[int]:
    return _team_ids(user)[1]


def visible_team_ids(user) -> frozenset[int]:
    members, managed = _team_ids(user)
    return members | managed


# --- opportunities -------------------------------------------------------------------------


def opportunity_visibility_q(user) -> Q | None:
    """A filter for the opportunities the user may read; None means all of them."""
    roles = user_roles(user)
    if ADMIN in roles or CURATOR in roles:
        return None
    if not roles & {SA, MANAGER}:
        return Q(pk__in=[])
    return (
        Q(team_id__in=visible_team_ids(user))
        | Q(owner_id=user.pk)
        | Q(account_executive_id=user.pk)
    )


def can_view_opportunity(user, opportunity) -> bool:
    roles = user_roles(user)
    if ADMIN in roles or CURATOR in roles:
        return True
    if not roles & {SA, MANAGER}:
        return False
    # The deal's own people first: they need no look-up of the user's teams.
    return user.pk in (
        opportunity.owner_id,
        opportunity.account_executive_id,
    ) or opportunity.team_id in visible_team_ids(user)


def can_edit_opportunity(user, opportunity) -> bool:
    roles = user_roles(user)
    if ADMIN in roles:
        return True
    if MANAGER in roles and opportunity.team_id in managed_team_ids(user):
        return True
    if roles & {SA, MANAGER}:
        return user.pk in (opportunity.owner_id, opportunity.account_executive_id)
    return False


def can_override_gate(user, opportunity) -> bool:
    """Skipping required items is a manager's call on their teams' deals (or an admin's)."""
    roles = user_roles(user)
    if ADMIN in roles:
        return True
    return MANAGER in roles and opportunity.team_id in managed_team_ids(user)


def can_create_opportunity(user) -> bool:
    return has_role(user, SA, MANAGER, ADMIN)


def assignable_team_ids(user) -> frozenset[int] | None:
    """The teams `user` may put a deal in (None: any): a manager's managed teams, an SA's own."""
    roles = user_roles(user)
    if ADMIN in roles:
        return None
    if MANAGER in roles:
        return managed_team_ids(user) | (member_team_ids(user) if SA in roles else frozenset())
    if SA in roles:
        return member_team_ids(user)
    return frozenset()


def assignment_problem(actor, *, team, owner, account_executive=None, changing=()) -> str:
    """Why `actor` may not give a deal this team, owner and account executive ("" if they
    may): the one rule for who owns what, used by every write path (the services behind the
    API, the HTML forms, the bulk actions). `changing`: on an update, the fields that change;
    what stays as it was is not judged again.

    An admin assigns anything. Anyone else keeps every deal in a team: a team they may assign
    (`assignable_team_ids`), and owners and account executives who belong to that team, so no
    write can hand a deal, or a view of it, to someone outside it.
    """
    allowed = assignable_team_ids(actor)
    if allowed is None:
        return ""
    creating = not changing
    if creating or "team" in changing:
        if team is None:
            return "Every opportunity belongs to a team: pick one of yours."
        if team.pk not in allowed:
            return f"You may not put opportunities in the team {team.name}."
    people = [("owner", owner), ("account executive", account_executive)]
    for label, person in people:
        field = label.replace(" ", "_")
        if not (creating or field in changing or "team" in changing):
            continue
        if person is None:
            if field == "owner" and (creating or "owner" in changing):
                return "Every opportunity has an owner."
            continue
        if team is not None and team.pk not in visible_team_ids(person):
            name = person.get_full_name() or person.username
            return f"{name} is not in {team.name}: the {label} must belong to the deal's team."
    return ""


MANUAL = "manual"


def record_source(actor, key=None) -> str | None:
    """The source an activity or ESAT answer written by `actor` (through API key `key`) must
    carry, or None when the writer may say (the survey link and background jobs, which write
    with no actor, and admins). An integration's key writes as that system; anyone else
    writes by hand ("manual"), and may not set when an answer arrived or who gave it."""
    if actor is None or has_role(actor, ADMIN):
        return None
    return getattr(key, "system", "") or MANUAL


def can_delete_opportunity(user, opportunity) -> bool:
    roles = user_roles(user)
    if ADMIN in roles:
        return True
    return MANAGER in roles and opportunity.team_id in managed_team_ids(user)


# --- accounts and contacts: a shared customer directory -----------------------------------


def can_view_accounts(user) -> bool:
    return bool(user_roles(user))


def can_edit_accounts(user) -> bool:
    return has_role(user, SA, MANAGER, ADMIN)


def can_delete_accounts(user) -> bool:
    return has_role(user, MANAGER, ADMIN)
