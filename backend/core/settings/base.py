"""Django settings. Every value comes from `core.env`; see README "Configuration"."""

from __future__ import annotations

import os

import dj_database_url
from celery.schedules import crontab

from core import env
from core.api.openapi import ERROR_COMPONENTS as API_ERROR_COMPONENTS
from core.api.openapi import TAGS as API_TAGS
from core.env import BASE_DIR, VAR_DIR, env_bool, env_float, env_int, env_list, env_str

DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("TESTING", False)
# Local set-up with no DATABASE_URL: secrets may be generated into var/ once. A configured
# (production) deployment must set them, so a missing one fails loudly.
EMBEDDED = DEBUG or TESTING or not env_str("DATABASE_URL")
SECRET_KEY = env.generated_secret(
    "SECRET_KEY", "secret_key", env.random_secret_key, allowed=EMBEDDED
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- HTTPS ----------------------------------------------------------------------------------
# Production runs behind a reverse proxy that terminates TLS (README "Production"); these come
# from the environment, and `manage.py check --deploy` passes with the production example of
# .env.example. Secure cookies are on by default once configured for production (DATABASE_URL
# set, DEBUG off); the rest stays off unless set, so plain-http local set-ups keep working.
SECURE_PROXY_SSL_HEADER = env.env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Monitors probe gunicorn directly over loopback http: a redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not EMBEDDED)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not EMBEDDED)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
PORT = env_int("PORT", 8000)
# The portal's session sign-in (apps/portal): Django's auth views at /login/.
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:projects"
LOGOUT_REDIRECT_URL = "portal:login"
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "core",
    "apps.projects",
    "apps.workflows",
    "apps.commands",
    "apps.alerts",
    "apps.integrations_external",
    "apps.portal",
    "apps.accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "core.urls"
WSGI_APPLICATION = "core.wsgi.application"

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

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{env.var_path('db.sqlite3')}")
# Connections are kept a minute, and checked before each request or task reuses one: after a
# failover or a restart of the server every pooled connection is dead, and without the check
# the first call on each answered 500 (issue 10).
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Kept open too (the minute above): a worker opened a new connection for every task, and
    # opening one (the PRAGMAs, reading the schema) cost 1.3 ms of CPU, 13 µs per delivery of a
    # task of 100 (docs/delivery.md, "Cost per delivery").
    DATABASES["default"]["OPTIONS"] = {
        # Web, worker and beat share one file: WAL lets readers run beside a writer, IMMEDIATE
        # takes the write lock up front so two writers queue instead of deadlocking.
        # mmap: after another process's write, a connection's page cache is dropped and every
        # page read again, a pread() each; mapped, they come from the OS's cache instead.
        # A checkpoint every 10,000 pages (40 MB), not 1,000: the endpoints' log indexes dirty
        # the same leaf pages event after event, and a rarer checkpoint copies each once
        # (the WAL is cut back to 64 MB after one, if it grew past that). On a machine where a
        # system call is dear, these cut CPU per delivery by 13 % (fan-out in a worker) and
        # 27 % (inline) in `make bench` (docs/delivery.md, "SQLite's system calls").
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=268435456;"
            " PRAGMA wal_autocheckpoint=10000; PRAGMA journal_size_limit=67108864;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory: a real worker process in the tests must see the test database.
    # One file per test process, so test runs started side by side never share (or delete)
    # each other's database.
    DATABASES["default"]["TEST"] = {"NAME": str(env.var_path(f"test_db_{os.getpid()}.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Tests and a never-collected dev tree still find the files through the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Secrets at rest ------------------------------------------------------------------------
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS") or [
    env.generated_secret(
        "FIELD_ENCRYPTION_KEY",
        "field_encryption_key",
        env.random_fernet_key,
        allowed=EMBEDDED,
    )
]

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # `Authorization: Token <key>`, keys stored hashed (apps/accounts/models.py).
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    # JSON nested deeper than core.api.parsers.MAX_JSON_DEPTH is a 400, not a RecursionError.
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Integer filters refuse numbers out of their column's range with a 400.
    "DEFAULT_FILTER_BACKENDS": [
        "core.api.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    # Tags per resource group and every error status (core/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.ActionScopedThrottle"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Per-user limits on what calls out or sends (core/api/throttling.py): each user and action has
# its own budget at its scope's rate ("N/second|minute|hour|day"; empty turns a scope off).
THROTTLE_RATES = {
    # verify, test, test-message, test-email, sync-prs, create-webhook, create-github-issue
    "outbound": env_str("THROTTLE_OUTBOUND_RATE", "20/minute"),
    "resend": env_str("THROTTLE_RESEND_RATE", "30/minute"),  # redeliver, recover
    "login": env_str("THROTTLE_LOGIN_RATE", "10/minute"),  # per username and per address
}

# --- Cache ----------------------------------------------------------------------------------
# Shared by every process (throttle counts, cached health answers): the database on embedded
# defaults (its table is made by core's migrations), Redis when CACHE_URL names one.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "hub",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "core_cache",
        }
    }

SPECTACULAR_SETTINGS = {
    "TITLE": "Workflow platform: external integrations hub",
    "DESCRIPTION": "Projects, workflows, commands and alerts, and the GitHub, Slack, email "
    "and webhook integrations they feed.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One group per resource in Swagger UI; the error bodies the operations refer to.
    "TAGS": [{"name": name, "description": text} for name, text in API_TAGS],
    "APPEND_COMPONENTS": {"schemas": API_ERROR_COMPONENTS},
    # Request bodies are documented as JSON, the API's format (forms are read too, for the
    # browsable API, but a switch sent as the form text "true" is not a JSON true).
    "PARSER_WHITELIST": ["core.api.parsers.JSONParser"],
    # Every delivery model's `status` shares one set of choices: one named enum for them all.
    "ENUM_NAME_OVERRIDES": {
        "DeliveryStatusEnum": "apps.integrations_external.pipeline.models.DeliveryStatus",
    },
}

# --- Background work ------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_BROKER_IS_EMBEDDED = not CELERY_BROKER_URL
if CELERY_BROKER_IS_EMBEDDED:
    # kombu's filesystem transport: a broker that needs no server (one machine only).
    CELERY_BROKER_URL = "filesystem://"
    _queue_dir = VAR_DIR / "broker" / "queue"
    _processed_dir = VAR_DIR / "broker" / "processed"
    _control_dir = VAR_DIR / "broker" / "control"
    for _d in (_queue_dir, _processed_dir, _control_dir):
        _d.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
        # Exchange tables; kombu's default is "control" relative to the working directory.
        "control_folder": str(_control_dir),
        # How long a worker sleeps when it finds the queue empty (kombu's default is 1 s): a
        # delivery queued just after a look waited up to that long. An empty look is one
        # listdir, about 20 µs, so ten a second cost an idle worker nothing to speak of.
        "polling_interval": env_float("CELERY_BROKER_POLLING_INTERVAL", 0.1),
    }
    # The filesystem transport has no fanout exchange, so remote control cannot work.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
# Celery's Django fix-up closes the database connections before and after every task unless
# this is set (then every 2 × this many tasks): reopening one cost 1.3 ms of CPU on SQLite, and
# 0.6 ms plus a new server process (2.8 ms) on PostgreSQL, per task of up to 100 deliveries.
# Kept, they are checked before each task instead (core/celery.py).
CELERY_DB_REUSE_MAX = 1000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Never hold a web request hostage to a down broker: the sweeper re-enqueues anything unsent.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(env.var_path("celerybeat-schedule"))

# --- Integrations ---------------------------------------------------------------------------
# Each falls back to a safe embedded default, so `make run` needs no outside service.
GITHUB_API_BASE_URL = env_str("GITHUB_API_BASE_URL", "https://api.github.com").rstrip("/")
GITHUB_SYNC_INTERVAL_SECONDS = env_float("GITHUB_SYNC_INTERVAL_SECONDS", 900.0)
# A pull-request sync (every page, and the Actions runs) ends after this many seconds.
GITHUB_SYNC_DEADLINE_SECONDS = env_float("GITHUB_SYNC_DEADLINE_SECONDS", 300.0)
# GitHub calls made inside a web request (verify, create-webhook) end after this many seconds
# in total, however the time is spent (resolving, connecting, a slowly dripping answer).
GITHUB_REQUEST_BUDGET_SECONDS = env_float("GITHUB_REQUEST_BUDGET_SECONDS", 10.0)
# CA certificates (a PEM file) the GitHub API's certificate is checked against (a GitHub
# Enterprise Server with a private CA); empty: the certifi bundle of public CAs.
GITHUB_CA_BUNDLE = env_str("GITHUB_CA_BUNDLE", "")
# The GitHub App (docs/github.md, "GitHub App"): all empty means no app, pasted tokens only.
# The private key is the PEM text or a path to the PEM file GitHub let the operator download.
GITHUB_APP_ID = env_str("GITHUB_APP_ID", "")
GITHUB_APP_SLUG = env_str("GITHUB_APP_SLUG", "")
GITHUB_APP_PRIVATE_KEY = env_str("GITHUB_APP_PRIVATE_KEY", "")
GITHUB_APP_WEBHOOK_SECRET = env_str("GITHUB_APP_WEBHOOK_SECRET", "")
GITHUB_APP_CLIENT_ID = env_str("GITHUB_APP_CLIENT_ID", "")
GITHUB_APP_CLIENT_SECRET = env_str("GITHUB_APP_CLIENT_SECRET", "")
# Where the install page and the OAuth code exchange live (not the API): GitHub's web site.
GITHUB_APP_BASE_URL = env_str("GITHUB_APP_BASE_URL", "https://github.com").rstrip("/")
SLACK_API_BASE_URL = env_str("SLACK_API_BASE_URL", "https://slack.com/api/")
if not SLACK_API_BASE_URL.endswith("/"):
    SLACK_API_BASE_URL += "/"
SLACK_API_TIMEOUT_SECONDS = env_int("SLACK_API_TIMEOUT_SECONDS", 10)
# "Add to Slack" (OAuth v2): on when the operator registered a Slack app and set its client id
# and secret; the signing secret verifies Slack's events (app uninstalled, tokens revoked).
SLACK_CLIENT_ID = env_str("SLACK_CLIENT_ID", "")
SLACK_CLIENT_SECRET = env_str("SLACK_CLIENT_SECRET", "")
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET", "")
SLACK_OAUTH_BASE_URL = env_str("SLACK_OAUTH_BASE_URL", "https://slack.com/oauth/v2/authorize")
# Microsoft Teams (Workflows webhooks): a whole post, connect to last byte, within this.
TEAMS_TIMEOUT_SECONDS = env_float("TEAMS_TIMEOUT_SECONDS", 10.0)
# PEM bundle for a Teams-compatible endpoint behind a private CA; empty: certifi's public CAs.
TEAMS_CA_BUNDLE = env_str("TEAMS_CA_BUNDLE", "")
# Slack's pace for chat.postMessage: about one message per second per channel.
SLACK_MIN_SEND_INTERVAL_SECONDS = env_float("SLACK_MIN_SEND_INTERVAL_SECONDS", 1.0)
# Off by default: webhook URLs on private/loopback addresses are refused (SSRF). Tests and local
# demos turn it on to reach receivers on 127.0.0.1.
INTEGRATIONS_ALLOW_PRIVATE_TARGETS = env_bool("INTEGRATIONS_ALLOW_PRIVATE_TARGETS", False)
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 5.0)
WEBHOOK_RETRY_MAX_SECONDS = env_float("WEBHOOK_RETRY_MAX_SECONDS", 10 * 3600.0)
WEBHOOK_RETRY_AFTER_MAX_SECONDS = env_float("WEBHOOK_RETRY_AFTER_MAX_SECONDS", 3600.0)
WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("WEBHOOK_DELIVERY_RETENTION_DAYS", 30)
# CA certificates (a PEM file) webhook receivers' TLS certificates are checked against; empty:
# the certifi bundle of public CAs.
WEBHOOK_CA_BUNDLE = env_str("WEBHOOK_CA_BUNDLE", "")
# A claimed delivery whose worker died becomes due again when its lease runs out.
DELIVERY_LEASE_SECONDS = env_int("DELIVERY_LEASE_SECONDS", 60)
DELIVERY_SWEEP_INTERVAL_SECONDS = env_float("DELIVERY_SWEEP_INTERVAL_SECONDS", 30.0)
DELIVERY_BATCH_SIZE = env_int("DELIVERY_BATCH_SIZE", 100)
WEBHOOK_AUTO_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_AUTO_DISABLE_AFTER_FAILURES", 15)
WEBHOOK_AUTO_DISABLE_AFTER_DAYS = env_float("WEBHOOK_AUTO_DISABLE_AFTER_DAYS", 5.0)
# Email: SMTP when EMAIL_HOST is set; otherwise every message is written as a file under
# var/mail/ so `make run` needs no mail server. EMAIL_BACKEND may name any Django backend
# (e.g. anymail.backends.postmark.EmailBackend; see docs/email.md).
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_PORT = env_int("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
# Always bounded: a silent mail server must not hold a worker thread forever.
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 15.0)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(env.var_path("mail", ".keep").parent)
EMAIL_PLATFORM_NAME = env_str("EMAIL_PLATFORM_NAME", "Workflow Platform")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"{EMAIL_PLATFORM_NAME} <noreply@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# Summaries cover the last complete day/week ending at this hour (UTC) and are sent then.
EMAIL_SUMMARY_HOUR_UTC = env_int("EMAIL_SUMMARY_HOUR_UTC", 7)
EMAIL_WEEKLY_SUMMARY_DAY = env_str("EMAIL_WEEKLY_SUMMARY_DAY", "mon").lower()[:3]
_email_problems = [
    "set EMAIL_USE_TLS (STARTTLS, port 587) or EMAIL_USE_SSL (465), not both"
    if EMAIL_USE_TLS and EMAIL_USE_SSL
    else "",
    "" if 0 <= EMAIL_SUMMARY_HOUR_UTC <= 23 else "EMAIL_SUMMARY_HOUR_UTC must be an hour, 0 to 23",
    ""
    if EMAIL_WEEKLY_SUMMARY_DAY in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    else "EMAIL_WEEKLY_SUMMARY_DAY must be a weekday: mon, tue, … sun",
]
if any(_email_problems):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("; ".join(p for p in _email_problems if p))

# --- Periodic jobs (Celery beat) ------------------------------------------------------------
CELERY_BEAT_SCHEDULE = {
    "sweep-deliveries": {
        "task": "integrations.sweep_deliveries",
        "schedule": DELIVERY_SWEEP_INTERVAL_SECONDS,
    },
    "prune-deliveries": {"task": "integrations.prune_deliveries", "schedule": 3600.0},
    "github-sync-prs": {
        "task": "integrations.github.sync_all",
        "schedule": GITHUB_SYNC_INTERVAL_SECONDS,
    },
    # A few minutes past the hour, so the period that ends on the hour is complete.
    "email-daily-summaries": {
        "task": "integrations.email.send_summaries",
        "schedule": crontab(minute=5, hour=EMAIL_SUMMARY_HOUR_UTC),
        "args": ("daily",),
    },
    "email-weekly-summaries": {
        "task": "integrations.email.send_summaries",
        "schedule": crontab(
            minute=10, hour=EMAIL_SUMMARY_HOUR_UTC, day_of_week=EMAIL_WEEKLY_SUMMARY_DAY
        ),
        "args": ("weekly",),
    },
}

# --- Metrics (GET /metrics, Prometheus) ------------------------------------------------------
# prometheus-client's multiprocess mode: every process (gunicorn's workers, Celery's pool
# children) writes its counters into this folder, and a scrape adds them up. The library picks
# the mode when it is first imported, so the variable is exported here, before any import of
# it, and inherited by every child process.
PROMETHEUS_MULTIPROC_DIR = str(env.metrics_dir())
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
os.makedirs(PROMETHEUS_MULTIPROC_DIR, exist_ok=True)
# /metrics answers loopback clients (not ones forwarded by a proxy), and anyone presenting
# `Authorization: Bearer <METRICS_TOKEN>` when it is set; others get 404 (or 401 with a token).
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Collectors computed at scrape time (gauges read from the database), besides the counters.
METRICS_COLLECTORS = ["apps.integrations_external.monitoring.metrics.DeliveryStateCollector"]

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# "text" (default): one readable line per record. "json": one JSON object per line, with the
# ids of the event and deliveries (and the Celery task) a record belongs to (core/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "text").lower()
if LOG_FORMAT not in ("text", "json"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # httpx logs every request's full URL at INFO; some URLs are secrets (a Teams Workflows
        # URL carries its signature), so only its warnings are kept. Our clients log what
        # matters themselves, without URLs.
        "httpx": {"level": "WARNING"},
    },
}

# Celery's worker and beat replace the root logger's handlers with their own plain ones unless
# told not to: JSON lines must come from every process.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
