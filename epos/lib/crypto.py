"""Secrets at rest: Fernet tokens under the keys of EPOS_ENCRYPTION_KEYS (newest first).

Encrypting uses the newest key; decrypting tries each, so a key can be rotated in by putting a
new one first and re-encrypting (`manage.py rotate_encryption_keys` when it lands). Without
configured keys, one key is derived from SECRET_KEY so the embedded default works out of the
box; production sets its own keys (see .env.example).
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """A stored secret could not be read with any configured key."""


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = hashlib.sha256(f"epos-encryption:{secret_key}".encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "EPOS_ENCRYPTION_KEYS must be comma-separated Fernet keys "
            "(Fernet.generate_key() gives one)"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.EPOS_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret cannot be decrypted with the configured EPOS_ENCRYPTION_KEYS."
        ) from exc
