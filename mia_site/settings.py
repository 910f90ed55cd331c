"""MIA settings: one module, driven by the environment (see README "Configure").

Everything has a safe local default (SQLite, embedded Redis, simulated feed, paper broker), so a
fresh clone runs with no variables set; production sets MIA_SECRET_KEY, MIA_ALLOWED_HOSTS,
MIA_SECURE=1 and DATABASE_URL.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import plotly

from mia_site.env import (
    ConfigError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    secret_from_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MIA_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("MIA_DEBUG", False)
SECURE = env_bool("MIA_SECURE", False)
SECRET_KEY = env_str("MIA_SECRET_KEY") or secret_from_file(VAR_DIR / "secret_key")
if len(SECRET_KEY) < 32:
    raise ConfigError("MIA_SECRET_KEY must be at least 32 characters")

ALLOWED_HOSTS = env_list("MIA_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("MIA_CSRF_TRUSTED_ORIGINS", [])
MIA_PORT = env_int("MIA_PORT", 8000, minimum=1, maximum=65535)
# Websocket origins: scheme, host and port must all match one of these. By default the pages' own
# origins: each allowed host on the served port (http), or on 443 (https) behind TLS (MIA_SECURE=1).
MIA_ALLOWED_ORIGINS = env_list("MIA_ALLOWED_ORIGINS", [
    f"https://{host}" if SECURE else f"http://{host}:{MIA_PORT}" for host in ALLOWED_HOSTS if host != "*"])

# What the gateway connects to. Paper is the default: live trading must be asked for by name.
MIA_FEED = env_choice("MIA_FEED", "sim", ("sim", "replay", "ibkr", "dtc"))
MIA_BROKER = env_choice("MIA_BROKER", "paper", ("paper", "ibkr"))
MIA_SIM_SPEED = env_int("MIA_SIM_SPEED", 1, minimum=1, maximum=100_000)
MIA_SYMBOL = env_str("MIA_SYMBOL", "ES")
# Deploy a newly trained model by itself when it beats the deployed one out of sample.
MIA_ML_AUTO_DEPLOY = env_bool("MIA_ML_AUTO_DEPLOY", True)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "trading",
    "options",
    "mlfilter",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "trading.web.middleware.RoleRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "mia_site.urls"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

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
                "trading.web.context_processors.mia",
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "mia_site.asgi.application"

# SQLite in WAL mode lets the gateway write bars while the web and workers read. IMMEDIATE
# transactions take the write lock up front, so two writers queue instead of deadlocking.
_sqlite_path = VAR_DIR / "db.sqlite3"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", f"sqlite:///{_sqlite_path}"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
# Exchange time: what the dashboard shows by default (CME Globex runs on Chicago time).
MIA_EXCHANGE_TZ = "America/Chicago"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
# plotly.js is served from the copy inside the plotly wheel (no CDN, nothing vendored in git).
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor", Path(plotly.__file__).parent / "package_data")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Redis: the embedded server started by `make run` unless REDIS_URL points elsewhere.
MIA_REDIS_PORT = env_int("MIA_REDIS_PORT", 16379, minimum=1, maximum=65535)
REDIS_URL = env_str("REDIS_URL", f"redis://127.0.0.1:{MIA_REDIS_PORT}/0")

# redis-py 8 gives every connection a 5 s socket timeout, the same as channels-redis's 5 s blocking
# pop: an idle websocket consumer would then die with "Timeout reading". Reads get more room here.
CHANNEL_LAYER_SOCKET_TIMEOUT_S = 30
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT_S}],
                   "capacity": 1500, "expiry": 10},
    }
}

# MIA_PUSH=0 switches the dashboard pushes off (a process no browser listens to: `manage.py replay`).
if not env_bool("MIA_PUSH", True):
    CHANNEL_LAYERS = {}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "trading.*": {"queue": "trading"},
    "options.*": {"queue": "options"},
    "mlfilter.*": {"queue": "ml"},
    "mia.*": {"queue": "default"},
}
# A bar task is idempotent, so it is acknowledged only after it ran: a worker killed mid-task
# hands the bar to the next worker instead of losing it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MIA API",
    "DESCRIPTION": "Automated ES futures trading: trades, signals, orders, options, status, kill switch.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI at /api/v1/docs/ from the drf-spectacular-sidecar wheel's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Security headers. MIA_SECURE=1 is for a deployment behind TLS.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if SECURE:
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_LEVEL = env_str("MIA_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # The IB clients log whole Trade objects (account id included) down to WARNING; MIA's adapter logs
    # what happened with the account masked, so theirs are kept to errors.
    "loggers": {"django.channels.server": {"level": "WARNING"}, "daphne": {"level": "WARNING"},
                "ib_insync": {"level": "ERROR"}, "ib_async": {"level": "ERROR"}},
}

# Redis-backed extras (state cache, gateway heartbeat). The database stays the source of truth.
MIA_REDIS_ENABLED = env_bool("MIA_REDIS_ENABLED", True)
# Ticks further than this from the last good price are quarantined as bad prints.
MIA_TICK_BAND_PCT = float(env_str("MIA_TICK_BAND_PCT", "2.0"))
