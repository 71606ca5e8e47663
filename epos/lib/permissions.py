from rest_framework.permissions import BasePermission

from epos.lib.roles import user_roles


class HasRole(BasePermission):
    """Authenticated and holding at least one EPOS role."""

    message = "Your account has no EPOS role; ask an admin to assign one."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and user_roles(request.user))
