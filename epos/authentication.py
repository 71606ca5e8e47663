from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from epos.lib.client_ip import client_ip
from epos.lib.counters import cache_count
from epos.lib.prepared import PreparedRead
from epos.models import ApiKey

_FAILURES = "api-key-failures:{}"


def _refuse(request, message: str):
    """A failed key: 401, or 429 once this address failed EPOS_API_KEY_FAILURE_LIMIT times in
    the window. Guessing keys is pointless (256 bits), but a flood of wrong ones is told to stop.
    Only failures are counted, so a valid key costs no cache round trip."""
    window = settings.EPOS_API_KEY_FAILURE_WINDOW
    failures = cache_count(_FAILURES.format(client_ip(request)), timeout=window)
    if failures > settings.EPOS_API_KEY_FAILURE_LIMIT:
        return exceptions.Throttled(
            wait=window,
            detail=(
                "Too many failed API key attempts from this address; try again in "
                f"{max(1, round(window / 60))} minutes."
            ),
        )
    return exceptions.AuthenticationFailed(message)


# Every API request runs it: compiled once (epos.lib.prepared). By digest, which is unique.
_LIVE_KEY = PreparedRead(
    lambda digest: (
        ApiKey.objects.select_related("user")
        .filter(digest=digest, revoked_at__isnull=True)
        .order_by()
    ),
    digest="stand-in digest",
)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` with a personal API key (stored hashed)."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise _refuse(request, "Invalid token header: expected 'Token <key>'.")
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise _refuse(request, "Invalid token header.") from exc
        found = _LIVE_KEY.rows(digest=ApiKey.digest_of(raw))
        key = found[0] if found else None
        if key is None or not key.user.is_active:
            raise _refuse(request, "Invalid or revoked API key.")
        # Touch last_used_at at most hourly so hot API clients do not write on every call.
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 3600:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.user, key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "epos.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <key>`; create a key with `manage.py create_api_key <username>`."
            ),
        }
