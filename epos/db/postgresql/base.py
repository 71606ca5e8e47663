"""Django's PostgreSQL backend with a health check that costs a round trip only when needed.

With persistent connections and `CONN_HEALTH_CHECKS`, Django sends `SELECT 1` before the first
query of every request: on a busy worker that is a round trip (and PostgreSQL's CPU) spent on
every request to learn what the previous request, a few milliseconds ago, already proved. Here
the check runs only when the connection last answered a request more than
`HEALTH_CHECK_AFTER_IDLE_SECONDS` ago, the case it exists for (a database restarted or a
connection dropped while the worker sat idle). A database that goes away in the middle of a
busy second fails the requests in flight either way; the connection that saw the error is
checked and replaced at the end of that request, as before.
"""

import time

from django.db.backends.postgresql import base

HEALTH_CHECK_AFTER_IDLE_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    _answered_at = float("-inf")

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and time.monotonic() - self._answered_at < HEALTH_CHECK_AFTER_IDLE_SECONDS
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close_if_unusable_or_obsolete(self):
        # health_check_done: this request used the connection (and it passed or skipped the
        # check). Still open after the parent's checks: it answered without an error that
        # made it unusable.
        used = self.connection is not None and self.health_check_done
        super().close_if_unusable_or_obsolete()
        if used and self.connection is not None and not self.errors_occurred:
            self._answered_at = time.monotonic()
