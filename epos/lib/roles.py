"""Roles are Django groups; this module is the only place that knows their names."""

from django.contrib.auth.models import Group

from epos.lib.prepared import PreparedRead

SA = "sa"
MANAGER = "manager"
CURATOR = "curator"
ADMIN = "admin"
ROLES = (SA, MANAGER, CURATOR, ADMIN)
ROLE_LABELS = {SA: "Solution architect", MANAGER: "Manager", CURATOR: "Curator", ADMIN: "Admin"}


# Read on every request: compiled once (epos.lib.prepared).
_ROLE_NAMES = PreparedRead(
    lambda user_id: (
        Group.objects.filter(user=user_id, name__in=ROLES).order_by().values_list("name")
    ),
    user_id=-1,
)


def user_roles(user) -> frozenset[str]:
    """The user's roles, read once per user object (so once per request)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_epos_roles", None)
    if cached is None:
        names = {name for (name,) in _ROLE_NAMES.rows(user_id=user.pk)}
        if user.is_superuser:
            names.add(ADMIN)
        cached = frozenset(names)
        user._epos_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def is_admin(user) -> bool:
    return has_role(user, ADMIN)


def primary_role(user) -> str | None:
    roles = user_roles(user)
    for role in (ADMIN, MANAGER, CURATOR, SA):
        if role in roles:
            return role
    return None


def ensure_role_groups() -> dict[str, Group]:
    return {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}


def assign_role(user, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    user.__dict__.pop("_epos_roles", None)
