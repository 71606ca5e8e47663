"""gunicorn settings for EPOS (read from the working directory, or with `-c gunicorn.conf.py`).

Every value can be changed from the environment so the same image serves a laptop and a
cluster. Scaling out means more instances of this process behind a load balancer: no state
lives in a web worker.
"""

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


wsgi_app = "epos.wsgi:application"

# Loopback unless told otherwise; the container image sets GUNICORN_BIND=0.0.0.0:8000.
bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{_int('PORT', 8000)}")

# Sync workers: the app is database-bound and short requests; more throughput comes from more
# workers (WEB_CONCURRENCY, also gunicorn's own convention) or more instances.
workers = _int("WEB_CONCURRENCY", 4)
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = 5

# Recycling workers now and then bounds the damage of a slow leak in any library; the jitter
# keeps all workers from restarting at the same moment.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max(1, max_requests // 10) if max_requests else 0

# The master loads EPOS once and forks warmed-up workers from it, so a worker (re)started by
# max_requests is ready in milliseconds. Loading in each worker cost about 2 s of CPU per
# start: at 200 requests/s a worker restarts every few seconds, a tax of ~2 ms on every
# request. A code change needs a restart of the master (a deploy replaces the container
# anyway): SIGHUP reloads the configuration, not the code.
preload_app = True


def when_ready(server):
    """Warm the preloaded app in the master before it forks the workers: the URLconf (every
    view module) and the broker's client library, which each worker would otherwise import at
    its first request. Neither connects; no connection may be shared by forked workers."""
    if not server.cfg.preload_app:
        return
    from django.db import connections
    from django.urls import get_resolver

    from epos.celery import app as celery_app

    get_resolver().url_patterns  # noqa: B018 - the import is the point
    celery_app.connection_for_write()  # resolves (imports) the transport; connects nothing
    connections.close_all()


# The heartbeat file lives in memory where there is one: a container's overlay disk can stall
# the heartbeat long enough for the arbiter to kill healthy workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Only a proxy on these addresses may claim the request came over HTTPS (X-Forwarded-Proto).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
