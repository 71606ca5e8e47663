# syntax=docker/dockerfile:1
# One image for every EPOS process: web (gunicorn, the default command), celery worker, celery beat
# and the one-shot migrate job. See docker-compose.yml for how they are wired together.

# --- front-end packages: from the npm registry through package.json, never committed ----------
FROM node:24-slim AS frontend
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/copy-vendor.mjs scripts/
RUN node scripts/copy-vendor.mjs

# --- the application ---------------------------------------------------------------------------
FROM python:3.11-slim AS app

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GUNICORN_BIND=0.0.0.0:8000 \
    MEDIA_ROOT=/app/media

RUN groupadd --system --gid 10001 epos \
    && useradd --system --uid 10001 --gid epos --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin epos

WORKDIR /app

# Dependencies first, so a code change does not reinstall them (every pin has a wheel: no compiler).
COPY requirements.txt ./
RUN pip install --requirement requirements.txt

# The code stays owned by root: the app user may read it, not change it.
COPY . .
COPY --from=frontend /build/static/vendor static/vendor

# Static files are built into the image and served by WhiteNoise. Settings refuse to load without
# a SECRET_KEY when DEBUG is off; this throwaway one exists only for this build step and is not
# kept in any layer's environment.
RUN DEBUG=0 SECRET_KEY=collectstatic-build-only-not-a-secret \
    python manage.py collectstatic --noinput --verbosity 0

# The media volume is mounted here; a new named volume takes this directory's owner.
RUN mkdir -p /app/media && chown epos:epos /app/media

USER epos:epos
EXPOSE 8000

# gunicorn.conf.py in /app sets the app, bind address, workers (WEB_CONCURRENCY) and logging.
CMD ["gunicorn", "--config", "gunicorn.conf.py"]
