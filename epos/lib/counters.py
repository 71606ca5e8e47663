"""A counter in the shared cache that no two processes can lose an increment of."""

from django.core.cache import cache


def cache_count(key: str, *, timeout: int | None) -> int:
    """Add one to `key` and return the new value; a missing key starts at 0 and lives `timeout`
    seconds (None: until evicted). `add` and `incr` are each atomic in Redis and in the
    local-memory cache, where get-then-set would lose increments made at the same time."""
    for _ in range(2):
        cache.add(key, 0, timeout)
        try:
            return cache.incr(key)
        except ValueError:
            continue  # evicted between add and incr: add it again
    cache.set(key, 1, timeout)
    return 1
