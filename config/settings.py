"""Tracemark settings: one module, read from the environment.

Defaults run locally with nothing installed (SQLite + a filesystem Celery broker under var/).
Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, DEBUG=0 and ALLOWED_HOSTS;
the system checks in ``config.checks`` refuse the embedded defaults when DEBUG is off.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TRACEMARK_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

INSECURE_SECRET_KEY = "insecure-dev-key-change-me"  # noqa: S105 - refused by a system check when DEBUG is off
SECRET_KEY = env_str("SECRET_KEY", INSECURE_SECRET_KEY)
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # django.contrib.admin with an admin site that records every admin change in the ledger.
    "config.admin_audit.AuditedAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "axes",  # login throttling (see the Security section)
    "lineage",
    "catalog",
    "reports",
    "config",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security.SecurityHeadersMiddleware",  # CSP + Permissions-Policy (security section)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the lockout flag set during authentication (answers 429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'tracemark.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", DEFAULT_SQLITE_URL), conn_max_age=env_int("DB_CONN_MAX_AGE", 60)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The fold's reads and bulk inserts bind parameters on the server (lineage.bulk); psycopg
    # prepares such a statement after this many runs on a connection, and lineage.apps asks
    # PostgreSQL for generic plans, so they are not planned again on every fold. 0 turns both off
    # (e.g. behind a PgBouncer older than 1.21 in transaction mode). Django's own queries are
    # never prepared.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = env_int("DB_PREPARE_THRESHOLD", 5) or None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE takes the write lock
    # at BEGIN so two writers queue on busy_timeout instead of failing a lock upgrade.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static --------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"

# --- Security ------------------------------------------------------------------------------
# Owned by the security work (issue 7); docs/deploy.md explains each setting an operator sets.
# Cookies: Secure whenever DEBUG is off (production is served over TLS); the session lasts a
# working day; SameSite=Lax keeps them off cross-site POSTs. The CSRF cookie stays readable by the
# pages' own scripts (Django's advice: HttpOnly would add nothing).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SAMESITE = "Lax"
# Database sessions that refuse a malformed cookie before querying (config.security.SessionStore).
SESSION_ENGINE = "config.security"
# Messages (e.g. a new API key, shown once) stay on the server, never in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating reverse proxy that sets X-Forwarded-Proto: requests count as secure and
# HSTS (sent on secure requests only) defaults to a year. No HTTP->HTTPS redirect here: the proxy
# does it, and a redirected POST loses the event (the OpenLineage client follows it as a GET).
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if BEHIND_TLS_PROXY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# check --deploy: the HTTPS redirect is the proxy's job (see above), not a missing setting.
SILENCED_SYSTEM_CHECKS = ["security.W008"]
# Content-Security-Policy (config.security): no inline script or style anywhere.
TRACEMARK_CSP_REPORT_ONLY = env_bool("TRACEMARK_CSP_REPORT_ONLY", False)
# Login throttling (django-axes, state in the database: works without Redis). A username is locked
# for an address after AXES_FAILURE_LIMIT failures, for AXES_COOLOFF_MINUTES; success resets it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no banner at every process start; lockouts are still logged as warnings
# Behind the proxy, the client address is the hop the proxy appended to X-Forwarded-For.
TRACEMARK_PROXY_COUNT = env_int("TRACEMARK_PROXY_COUNT", 1)
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"

# --- REST framework & OpenAPI ----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "lineage.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tracemark API",
    "DESCRIPTION": "OpenLineage intake, provenance graph and governance catalog for AI factories.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lineage.openapi.allow_empty_optional_query_parameters",
        "lineage.openapi.forbid_nul_in_query_strings",
    ],
}

# --- Intake ------------------------------------------------------------------------------------
# Largest accepted request body, compressed or not; also the cap when inflating gzip.
TRACEMARK_MAX_BODY_BYTES = env_int("TRACEMARK_MAX_BODY_BYTES", 5 * 1024 * 1024)
TRACEMARK_MAX_BATCH_BODY_BYTES = env_int("TRACEMARK_MAX_BATCH_BODY_BYTES", 50 * 1024 * 1024)
TRACEMARK_MAX_BATCH_EVENTS = env_int("TRACEMARK_MAX_BATCH_EVENTS", 10_000)
# Intake requests a single process handles at once before answering 503 + Retry-After.
TRACEMARK_MAX_INFLIGHT = env_int("TRACEMARK_MAX_INFLIGHT", 64)
TRACEMARK_RETRY_AFTER_SECONDS = env_int("TRACEMARK_RETRY_AFTER_SECONDS", 5)
# Concurrent intake requests of one process are appended and folded together (group commit);
# off, each request stores its own events (bench/ingest.py compares: +TRACEMARK_GROUP_COMMIT=0).
TRACEMARK_GROUP_COMMIT = env_bool("TRACEMARK_GROUP_COMMIT", True)
# How long a group's leader may wait for requests of its process that are still on their way.
TRACEMARK_GROUP_COMMIT_WAIT_MS = env_int("TRACEMARK_GROUP_COMMIT_WAIT_MS", 10)
# Django reads request.body into memory; the intake enforces its own limits above.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(TRACEMARK_MAX_BODY_BYTES, TRACEMARK_MAX_BATCH_BODY_BYTES) + 1

# --- Celery ------------------------------------------------------------------------------------
DEFAULT_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    for sub in ("out", "processed", "control"):
        (DEFAULT_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(DEFAULT_BROKER_DIR / "out"),
        "data_folder_out": str(DEFAULT_BROKER_DIR / "out"),
        "processed_folder": str(DEFAULT_BROKER_DIR / "processed"),
        # Broadcast/pidbox exchanges; kombu's default is ./control in the working directory.
        "control_folder": str(DEFAULT_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 180)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Short so that a broker outage fails the dispatcher fast; rows stay in the outbox meanwhile.
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 2)

# --- Logging -------------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "config.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT if LOG_FORMAT in {"json", "plain"} else "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # axes logs every successful sign-in at INFO; lockouts and failures stay (WARNING).
        "axes": {"level": "WARNING"},
    },
}

# --- Reports (reports app) --------------------------------------------------------------------
# Block owned by the reports app; keep report settings here.
# PAdES signing of issued reports: PEM paths of the key and its certificate (both or neither).
TRACEMARK_SIGNING_KEY = env_str("TRACEMARK_SIGNING_KEY", "")
TRACEMARK_SIGNING_CERT = env_str("TRACEMARK_SIGNING_CERT", "")
TRACEMARK_SIGNING_KEY_PASSPHRASE = env_str("TRACEMARK_SIGNING_KEY_PASSPHRASE", "")
# Extra PEM certificates verify_report trusts as signers' roots (the signing cert is always trusted).
TRACEMARK_REPORT_TRUST_ROOTS = env_list("TRACEMARK_REPORT_TRUST_ROOTS", [])
# Report issuance runs on its own queue so that a long render never delays policy checks;
# a worker must consume it: `celery -A config worker -Q celery,reports`.
TRACEMARK_REPORTS_QUEUE = env_str("TRACEMARK_REPORTS_QUEUE", "reports")
CELERY_TASK_ROUTES = {
    **globals().get("CELERY_TASK_ROUTES", {}),
    "reports.tasks.*": {"queue": TRACEMARK_REPORTS_QUEUE},
}
# WeasyPrint logs every layout step at INFO.
LOGGING["loggers"].update({"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}})

# --- Catalog and policy checks (catalog app) -------------------------------------------------
# Block owned by the catalog app: outbox routing, beat schedule, catalog settings.
from celery.schedules import crontab  # noqa: E402 - kept with the block that uses it

# Outbox topic → Celery task names; lineage routes by name so it never imports catalog.
TRACEMARK_OUTBOX_ROUTES = {"graph.changed": ["catalog.process_graph_change"]}
# The intake publishes its outbox row right after commit (best effort); set 0 to leave it to beat.
TRACEMARK_OUTBOX_DISPATCH_ON_COMMIT = env_bool("TRACEMARK_OUTBOX_DISPATCH_ON_COMMIT", True)
TRACEMARK_OUTBOX_DRAIN_SECONDS = env_int("TRACEMARK_OUTBOX_DRAIN_SECONDS", 3)
# A graph change re-checks up to this many systems in its own task; more are fanned out.
TRACEMARK_INLINE_SYSTEM_EVALUATIONS = env_int("TRACEMARK_INLINE_SYSTEM_EVALUATIONS", 4)
TRACEMARK_SWEEP_MINUTES = env_int("TRACEMARK_SWEEP_MINUTES", 30)
CELERY_BEAT_SCHEDULE = {
    "drain-outbox": {"task": "lineage.dispatch_outbox", "schedule": float(TRACEMARK_OUTBOX_DRAIN_SECONDS)},
    # Same period: folds what a web process appended to the ledger but died before folding.
    "fold-pending": {"task": "lineage.fold_pending", "schedule": float(TRACEMARK_OUTBOX_DRAIN_SECONDS)},
    "expire-waivers": {"task": "catalog.expire_waivers", "schedule": crontab(minute="*/5")},
    "sweep-policies": {"task": "catalog.sweep", "schedule": float(TRACEMARK_SWEEP_MINUTES * 60)},
}
