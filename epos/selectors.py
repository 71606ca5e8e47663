"""Reads of the platform models for the pages (the API authenticates keys on its own)."""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from epos.models import ApiKey


def api_keys_for_user(user) -> QuerySet[ApiKey]:
    """The user's keys, newest first, revoked ones included so the list tells what happened."""
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-pk")


def api_key_get(*, user, pk: int) -> ApiKey | None:
    """One of the user's own keys, or None: another user's key is as good as missing."""
    return api_keys_for_user(user).filter(pk=pk).first()


def active_users() -> QuerySet:
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .only("pk", "username", "first_name", "last_name")
        .order_by("first_name", "last_name", "username", "pk")
    )
