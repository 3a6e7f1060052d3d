"""SLA Hub settings, read from the environment.

With nothing set, the project runs on an embedded default (SQLite, a filesystem Celery broker,
console email) for one developer's machine; production sets DATABASE_URL, REDIS_URL, EMAIL_URL,
SECRET_KEY and ALLOWED_HOSTS (see README.md).
"""

import contextlib
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("SLAHUB_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Applications ----------------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
]
LOCAL_APPS = [
    "audit",
    "agreements",
    "leads",
    "reports",
    "alerts",
    "integrations",
    "connectors",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "slahub.security.ApiNoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Dashboard: times in the user's team time zone.
    "slahub.middleware.TeamTimezoneMiddleware",
    # Audit: who is acting, for services that are not told (audit/context.py).
    "audit.context.AuditRequestMiddleware",
    # Login lockout (django-axes): last, it turns a lockout into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "slahub.urls"
WSGI_APPLICATION = "slahub.wsgi.application"

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
                "agreements.context_processors.awaiting_signature",
                "agreements.context_processors.open_action_items",
            ],
        },
    },
]

# Database --------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Auth ------------------------------------------------------------------------------------
# Argon2id first (see slahub.security.Argon2idHasher); the others still read older hashes,
# which are re-hashed with Argon2id at the user's next login.
PASSWORD_HASHERS = [
    "slahub.security.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Refuses logins locked out by django-axes (first), then the usual username/password.
    "slahub.security.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# Security (production defaults; docs/security.md) ---------------------------------------
# Trust X-Forwarded-Proto only behind a proxy that sets it (else anyone could claim HTTPS).
BEHIND_HTTPS_PROXY = env.bool("BEHIND_HTTPS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_HTTPS_PROXY else None
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Served over HTTPS (secure cookies): send plain HTTP to HTTPS, and tell browsers to stay.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SESSION_COOKIE_SECURE)
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=31536000 if SESSION_COOKIE_SECURE else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

# Content-Security-Policy (django-csp 4): no inline script or style anywhere; data blocks
# are <script type="application/json"> (json_script), which the browser never runs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Login lockout (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username
# from one address, that pair is refused (even the right password) for AXES_COOLOFF_MINUTES.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "slahub.security.client_ip"
AXES_VERBOSE = False
# Password reset: at most this many emails per address, and requests per client address,
# per hour (counted in the cache); past it the same "check your email" page, no email.
PASSWORD_RESET_PER_EMAIL = env.int("PASSWORD_RESET_PER_EMAIL", default=3)
PASSWORD_RESET_PER_IP = env.int("PASSWORD_RESET_PER_IP", default=10)
PASSWORD_RESET_WINDOW_SECONDS = 3600
# The OpenAPI schema and Swagger UI need a login (session or token) unless this is on.
SLAHUB_PUBLIC_API_DOCS = env.bool("SLAHUB_PUBLIC_API_DOCS", default=False)

# Email -----------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SLA Hub <slahub@localhost>")

# Celery ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    # Embedded default: a broker that needs no server (messages are files under var/).
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
    # The filesystem transport fails on a missing folder: create them for every process
    # (`runserver` alone included), not only under `make run`.
    for _folder in (_broker_dir, VAR_DIR / "broker-control"):
        with contextlib.suppress(OSError):  # read-only: the first enqueue reports it
            _folder.mkdir(parents=True, exist_ok=True)

# Cache ------------------------------------------------------------------------------------
# With Redis every process shares one cache, so the API throttle counters hold across
# gunicorn workers and hosts; without it (the embedded default) each process counts alone.
CACHE_URL = env.str("CACHE_URL", default=REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "slahub",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Figures shared by everyone of a team or filter (team compliance, quota pace, acceptance,
# the report tables) are kept this long (reports/shared.py); 0 counts them on every request.
# Never what a user owes: queues, breaches to acknowledge, leads nobody owes stay live.
SLAHUB_SHARED_FIGURES_SECONDS = env.int("SLAHUB_SHARED_FIGURES_SECONDS", default=10)

CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CHECK_INTERVAL_SECONDS = env.int("SLAHUB_CHECK_INTERVAL", default=60)
SLAHUB_BACKFILL_DAYS = env.int("SLAHUB_BACKFILL_DAYS", default=7)  # leads/bounds.py
# The deadline scan and alert delivery run this often (seconds): a breach is recorded at most
# this long after its due time, and its email handed to SMTP one delivery run later.
SCAN_INTERVAL_SECONDS = env.int("SLAHUB_SCAN_INTERVAL", default=10)
CELERY_BEAT_SCHEDULE = {
    "deadline-scan": {"task": "leads.tasks.deadline_scan", "schedule": SCAN_INTERVAL_SECONDS},
    "quota-evaluation": {
        "task": "leads.tasks.quota_evaluation",
        "schedule": CHECK_INTERVAL_SECONDS,
    },
    # Report rollups (reports/tasks.py; docs/metrics.md)
    "reports-rollups": {
        "task": "reports.tasks.refresh_rollups",
        "schedule": CHECK_INTERVAL_SECONDS,
    },
    # Alerts (alerts/tasks.py)
    "alerts-deliver": {"task": "alerts.tasks.deliver_alerts", "schedule": SCAN_INTERVAL_SECONDS},
    "alerts-escalate": {"task": "alerts.tasks.escalate_breaches", "schedule": 5 * 60},
    "alerts-digest": {"task": "alerts.tasks.send_digests", "schedule": 15 * 60},
    # Webhooks (integrations/tasks.py)
    "webhook-retries": {"task": "integrations.tasks.retry_due_webhooks", "schedule": 300},
    "imports-resume": {"task": "integrations.tasks.resume_imports", "schedule": 60},
    "replays-resume": {"task": "agreements.tasks.resume_replays", "schedule": 60},
    # CRM connectors (connectors/tasks.py): each pulls every SLAHUB_CONNECTOR_SYNC_MINUTES.
    "connectors-sync": {"task": "connectors.tasks.sync_connectors", "schedule": 60},
}
SLAHUB_CONNECTOR_SYNC_MINUTES = env.int("SLAHUB_CONNECTOR_SYNC_MINUTES", default=5)

# Alerts (alerts/) -------------------------------------------------------------------------
# Escalate a breach still unacknowledged after this business time (ISO 8601) on the
# agreement's calendar.
ALERTS_ESCALATE_AFTER = env.str("ALERTS_ESCALATE_AFTER", default="P1D")
ALERTS_BATCH_SIZE = env.int("ALERTS_BATCH_SIZE", default=20)
# A claimed row is retried by another deliverer after this; longer than a task may run.
ALERTS_LEASE_SECONDS = env.int("ALERTS_LEASE_SECONDS", default=600)
ALERTS_RETRY_BASE_SECONDS = env.int("ALERTS_RETRY_BASE_SECONDS", default=30)
ALERTS_RETRY_MAX_SECONDS = env.int("ALERTS_RETRY_MAX_SECONDS", default=3600)
ALERTS_MAX_ATTEMPTS = env.int("ALERTS_MAX_ATTEMPTS", default=25)
# One delivery run drains the queue batch after batch for at most this long (seconds); far
# below ALERTS_LEASE_SECONDS and the task time limits.
ALERTS_DELIVERY_BUDGET_SECONDS = env.int("ALERTS_DELIVERY_BUDGET_SECONDS", default=60)
# Deliverers (threads) one delivery run puts on a backlog (alerts/delivery.py).
ALERTS_DELIVERERS = env.int("ALERTS_DELIVERERS", default=4)
# EMAIL_URL=filemail:// writes each email as a file here (a path in the URL wins).
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")

# Django REST framework (API area) -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "slahub.api_errors.SchemaWithErrors",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON only; the CSV import, the one file upload, adds multipart on its own view.
    "DEFAULT_PARSER_CLASSES": ["slahub.api_defaults.LimitedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "slahub.api_defaults.Pagination",
    "EXCEPTION_HANDLER": "slahub.api_errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "slahub.api_defaults.AnonRateThrottle",
        "slahub.api_defaults.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SLA Hub API",
    "DESCRIPTION": (
        "Mutual service level agreements between marketing and sales. Authenticate with "
        "`Authorization: Token <key>` (create one with `manage.py create_api_token USER`). "
        "Durations are ISO 8601 (PT4H, P2D); times are ISO 8601 with an offset. Every 4xx "
        "answer has the Error shape."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "SERVE_PERMISSIONS": ["slahub.security.ApiDocsPermission"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "LeadStageEnum": "leads.models.Stage",
        "CommitmentKindEnum": "agreements.models.Commitment.Kind",
        "SideEnum": "agreements.models.Side",
        "WebhookEventEnum": "integrations.models.WebhookEvent",
        "ActivityKindEnum": "leads.models.Activity.Kind",
        "ObligationStatusEnum": "leads.models.Obligation.Status",
        "BreachStatusEnum": "leads.models.Breach.Status",
        "VersionStatusEnum": "agreements.models.AgreementVersion.Status",
        "CommitmentStageEnum": "agreements.models.Commitment.Stage",
        "ImportStatusEnum": "integrations.models.Import.Status",
        "DeliveryStatusEnum": "integrations.models.WebhookDelivery.Status",
        "ImportRowResultEnum": "integrations.models.ImportRow.Result",
    },
}
API_UPLOAD_MAX_BYTES = env.int("API_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=10)
WEBHOOK_INBOUND_TOLERANCE_SECONDS = env.int("WEBHOOK_INBOUND_TOLERANCE_SECONDS", default=300)
# Outbound webhooks reach only public addresses, except these host names and CIDRs
# (e.g. "hooks.internal,10.0.5.0/24"); docs/api.md, integrations/egress.py.
SLAHUB_WEBHOOK_ALLOW_HOSTS = env.list("SLAHUB_WEBHOOK_ALLOW_HOSTS", default=[])
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
# Slack's Web API for bot-token team channels (alerts/channels/slack.py); a setting, so
# that a bot token is only ever sent here (tests point it at a local fake).
SLACK_API_BASE_URL = env.str("SLACK_API_BASE_URL", default="https://slack.com/api/")
# A delivery being sent is held this long; longer than a task may run.
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=600)
# CSV imports run in chunks of at most this many rows / seconds; a chunk's hold (lease)
# outlasts the task time limit, so a dead run's import resumes after it.
IMPORT_CHUNK_ROWS = env.int("IMPORT_CHUNK_ROWS", default=1000)
IMPORT_CHUNK_SECONDS = env.int("IMPORT_CHUNK_SECONDS", default=60)
IMPORT_LEASE_SECONDS = env.int("IMPORT_LEASE_SECONDS", default=360)

# Logging ---------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
