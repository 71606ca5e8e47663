"""EPOS settings: one module, every deploy-varying value read from the environment.

Without DATABASE_URL and CELERY_BROKER_URL the app runs on the embedded default (SQLite, tasks
run in-process after commit). `.env.example` lists every variable.
"""

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from epos.env import env_bool, env_int, env_int_item, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")

# The address people type to reach EPOS: https://epos.example.com behind a TLS proxy, or
# http://localhost:8000 for a try-out. The host names, trusted origins and HTTPS settings below
# follow from it unless set one by one.
EPOS_SITE_URL = env_str("EPOS_SITE_URL").strip()
_site = urlsplit(EPOS_SITE_URL) if EPOS_SITE_URL else None
if _site is not None and (_site.scheme not in ("http", "https") or not _site.hostname):
    raise ImproperlyConfigured(
        f"EPOS_SITE_URL must look like https://epos.example.com, got {EPOS_SITE_URL!r}"
    )
if _site is not None:
    _site_hosts = [_site.hostname]
    if _site.hostname == "localhost":
        _site_hosts += ["127.0.0.1", "[::1]"]
    _site_origins = [f"{_site.scheme}://{_site.netloc}"]
    if _site.hostname == "localhost":
        _port = f":{_site.port}" if _site.port else ""
        _site_origins += [f"{_site.scheme}://127.0.0.1{_port}", f"{_site.scheme}://[::1]{_port}"]
else:
    _site_hosts = ["127.0.0.1", "localhost"] if DEBUG else []
    _site_origins = []
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", _site_hosts)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", _site_origins)
# Whether people reach the site over HTTPS: strict cookies, redirects and HSTS follow from it.
_HTTPS = _site.scheme == "https" if _site is not None else not DEBUG

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "axes",
    "epos",
    "stages",
    "opportunities",
    "building_blocks",
    "metrics",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "epos.lib.middleware.RejectBadInput",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Failed logins are counted per user name and per address (django-axes): after
# EPOS_LOGIN_FAILURE_LIMIT failures for either, logins from it are refused for
# EPOS_LOGIN_COOLOFF_MINUTES; a successful login resets the count, and an admin can unlock
# at once (admin "Access attempts", or `manage.py axes_reset_username <name>`).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("EPOS_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("EPOS_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "epos.views.login_locked_out"
AXES_CLIENT_IP_CALLABLE = "epos.lib.client_ip.client_ip"
AXES_VERBOSE = False
# The proxies whose X-Forwarded-* headers are believed (gunicorn reads the same variable).
FORWARDED_ALLOW_IPS = env_list("FORWARDED_ALLOW_IPS", ["127.0.0.1", "::1"])
# Failed API keys: after this many from one address in a window, a 429 until it passes.
EPOS_API_KEY_FAILURE_LIMIT = env_int("EPOS_API_KEY_FAILURE_LIMIT", 20)
EPOS_API_KEY_FAILURE_WINDOW = env_int("EPOS_API_KEY_FAILURE_WINDOW", 600)

ROOT_URLCONF = "epos.urls"
WSGI_APPLICATION = "epos.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "epos.context_processors.roles",
            ],
        },
    },
]

# Database: SQLite by default, PostgreSQL (or anything dj-database-url reads) from DATABASE_URL.
# Every SQLite database, the default file or one named by DATABASE_URL=sqlite:///..., gets the
# same options: WAL lets readers proceed during a write; IMMEDIATE takes the write lock up front
# so concurrent writers queue (up to the timeout) instead of failing with "database is locked".
SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The metric queries sort and hash a whole pipeline: give them room in memory instead
        # of temporary files, and no JIT, whose compile time exceeds what it saves on queries
        # of a fraction of a second.
        DB_WORK_MEM = env_str("DB_WORK_MEM", "32MB")
        if not re.fullmatch(r"[1-9][0-9]*(kB|MB|GB)", DB_WORK_MEM):
            raise ImproperlyConfigured(f"DB_WORK_MEM must look like 32MB, not {DB_WORK_MEM!r}.")
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            f"-c work_mem={DB_WORK_MEM} -c jit=off"
        )
        # Django's backend with a health check skipped on a connection that answered within
        # the last second (see epos.db.postgresql).
        DATABASES["default"]["ENGINE"] = "epos.db.postgresql"
    elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = {
            **SQLITE_OPTIONS,
            **DATABASES["default"].get("OPTIONS", {}),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # a file: connecting costs nothing
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": SQLITE_OPTIONS,
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Cache: local memory by default, Redis from REDIS_CACHE_URL.
REDIS_CACHE_URL = env_str("REDIS_CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_CACHE_URL}
        if REDIS_CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: with no broker, tasks run in-process (eagerly) once the transaction commits.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE

# Dashboard figures are cached under a key that moves with every transition, ESAT answer and
# new deal; other edits (amounts, owners) show after at most this many seconds.
METRICS_CACHE_SECONDS = env_int("METRICS_CACHE_SECONDS", 300)
# After a change, show the dashboard's last figures at once and let a worker compute new ones.
METRICS_SERVE_STALE = env_bool("METRICS_SERVE_STALE", True)
# Database connections one dashboard may use at once for its independent sections (PostgreSQL,
# outside a transaction; 1 runs them one after another). See metrics/lanes.py.
METRICS_QUERY_LANES = env_int("METRICS_QUERY_LANES", 2)
if not 1 <= METRICS_QUERY_LANES <= 8:
    raise ImproperlyConfigured("METRICS_QUERY_LANES must be between 1 and 8.")

# Email: printed to the console unless an SMTP host is configured.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "EPOS <epos@localhost>")

# Outbound webhooks (integrations.webhooks). Targets on private, loopback and link-local
# addresses are refused unless EPOS_WEBHOOK_ALLOW_PRIVATE is on (tests, local development).
EPOS_WEBHOOK_ALLOW_PRIVATE = env_bool("EPOS_WEBHOOK_ALLOW_PRIVATE", False)
EPOS_WEBHOOK_TIMEOUT = env_int("EPOS_WEBHOOK_TIMEOUT", 10)
# Each subscription multiplies the deliveries of every event; one person may hold this many.
EPOS_WEBHOOK_MAX_SUBSCRIPTIONS = env_int("EPOS_WEBHOOK_MAX_SUBSCRIPTIONS", 50)
# Seconds to wait before each retry; jittered by ±20 %. The default adds up to about three days.
EPOS_WEBHOOK_RETRY_SCHEDULE = [
    env_int_item("EPOS_WEBHOOK_RETRY_SCHEDULE", item)
    for item in env_list(
        "EPOS_WEBHOOK_RETRY_SCHEDULE",
        [
            "5",
            "30",
            "120",
            "600",
            "1800",
            "3600",
            "7200",
            "14400",
            "28800",
            "43200",
            "86400",
            "86400",
        ],
    )
]
# Retries due within this many seconds wait on the broker (a countdown); later ones wait for the
# sweeper, so no task sits in Redis for hours.
EPOS_WEBHOOK_COUNTDOWN_MAX = env_int("EPOS_WEBHOOK_COUNTDOWN_MAX", 60)
# With no broker, deliveries run on a background thread of the web process, so a slow receiver
# never holds up the request that published the event.
EPOS_TASKS_IN_BACKGROUND_THREAD = env_bool("EPOS_TASKS_IN_BACKGROUND_THREAD", True)

# Encryption keys for credentials at rest (comma-separated Fernet keys, newest first).
EPOS_ENCRYPTION_KEYS = env_list("EPOS_ENCRYPTION_KEYS")

# Vivun sync (integrations.sync). Vivun documents no public API, so its HTTP export endpoint is an
# adapter admins can configure only with this on; the CSV and Salesforce adapters always can.
EPOS_VIVUN_HTTP_EXPORT = env_bool("EPOS_VIVUN_HTTP_EXPORT", False)
# Seconds one request of a sync (Salesforce, Vivun) may take to connect and to answer.
EPOS_SYNC_TIMEOUT = env_int("EPOS_SYNC_TIMEOUT", 60)
# The longest Retry-After (429) a run waits out in place, and how often; past that the attempt
# ends and the task retries later.
EPOS_SYNC_MAX_RETRY_AFTER = env_int("EPOS_SYNC_MAX_RETRY_AFTER", 60)
EPOS_SYNC_MAX_WAITS = env_int("EPOS_SYNC_MAX_WAITS", 3)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "epos.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "epos.lib.pagination.PageNumberPagination",
    "DEFAULT_PARSER_CLASSES": [
        "epos.lib.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "epos.lib.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "EPOS API",
    "DESCRIPTION": "Elastic Process of (pre-)Sales: processes, opportunities, stage moves.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OpportunitySourceEnum": "opportunities.models.Opportunity.Source",
        "ActivitySourceEnum": "opportunities.models.Activity.Source",
        "EsatSourceEnum": "opportunities.models.EsatResponse.Source",
        "ProcessStatusEnum": "stages.models.Process.Status",
        "ProductGapStatusEnum": "opportunities.models.ProductGap.Status",
        "WebhookSubscriptionStatusEnum": "integrations.models.WebhookSubscription.Status",
    },
}

# Security: strict whenever the site is served over HTTPS (an https EPOS_SITE_URL, or DEBUG off
# without one); a plain-http EPOS_SITE_URL (a try-out on localhost) relaxes them.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# HSTS preload is a per-domain commitment an operator opts into; leaving it off is a decision,
# so the deploy check's reminder about it is silenced unless preload is on.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A request counts as HTTPS when gunicorn says so: it believes a proxy's X-Forwarded-Proto only
# from FORWARDED_ALLOW_IPS (gunicorn.conf.py). Django does not read the header itself, which
# would let any client that reaches the server claim HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Only the app's own scripts, styles and images run or load (django-csp): no inline script or
# style, no eval, no remote image (rendered markdown drops them too), no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Services that tests must reach for real: with EPOS_REQUIRE_SERVICES=1 a missing one fails
# the test instead of skipping it.
EPOS_REQUIRE_SERVICES = env_bool("EPOS_REQUIRE_SERVICES", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
