"""Settings for supportdesk, read from the environment with embedded defaults.

Embedded default: SQLite (WAL), Huey on SQLite with its consumer inside the web process, and an
in-memory channel layer. `DATABASE_URL` switches to PostgreSQL; `REDIS_URL` switches Huey and
Channels to Redis.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from supportdesk import config
from supportdesk.queue import build_huey

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SUPPORTDESK_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Fail closed: DEBUG is off unless asked for, and with DEBUG off the server refuses to start
# without a real secret key (from SECRET_KEY, else the data dir's secret_key file that
# scripts/setup writes). Every process of one deployment needs the same key.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = config.secret_key(environ=os.environ, secret_file=DATA_DIR / "secret_key", debug=DEBUG)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Production behind TLS: HTTPS_ONLY=1 turns on secure cookies, the HTTPS redirect and HSTS (and
# trusts X-Forwarded-Proto from the proxy in front). `manage.py check --deploy` is clean with it.
HTTPS_ONLY = env_bool("HTTPS_ONLY", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS_ONLY else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS_ONLY else None
SESSION_COOKIE_HTTPONLY = True
# Content-Security-Policy: everything from this site only; no inline scripts or styles, no eval
# (templates and static/js/app.js keep to that; htmx's own indicator styles are turned off in
# base.html). supportdesk.csp adds the WebSocket's own origin to connect-src.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# `manage.py serve` and daphne serve static files themselves (one process, no web server needed).
SERVE_STATIC = env_bool("SERVE_STATIC", True)
# Forms and API bodies: the API answers 413 above its own limits; Django refuses larger bodies,
# and the server (supportdesk/server.py) refuses them before reading them at all.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
MAX_REQUEST_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "channels",
    "huey.contrib.djhuey",
    "supportdesk.durable",
    "supportdesk.desk",
    "supportdesk.inbox",
    "supportdesk.api",
    "ninja",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    *(["supportdesk.static.StaticFilesMiddleware"] if SERVE_STATIC else []),
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "supportdesk.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a sign-in refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "supportdesk.urls"
WSGI_APPLICATION = "supportdesk.wsgi.application"
ASGI_APPLICATION = "supportdesk.asgi.application"

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

# --- Database -----------------------------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "supportdesk.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"),
        conn_max_age=600,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock up front so
    # two writers queue on the busy timeout instead of failing with "database is locked".
    # Connections persist (per thread): opening one costs ~2 ms (the pragmas, Django's SQL
    # functions), which every Huey task and every request paid when they were closed each time.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    # The writers of this process queue on a lock, not on the busy handler's sleeps (its module).
    DATABASES["default"]["ENGINE"] = "supportdesk.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-supportdesk.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("TEST_DATABASE_NAME", "test_supportdesk")
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under daphne every request would open a new connection (~5-7 ms): pool them instead.
        # Django's pool needs CONN_MAX_AGE 0; the pool keeps connections alive itself.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": int(os.environ.get("DATABASE_POOL_SIZE", "20")),
            "timeout": 10,
        }
USING_SQLITE = DATABASES["default"]["ENGINE"] == "supportdesk.sqlite"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Queue (Huey) and live layer (Channels) ---------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
HUEY_QUEUE_NAME = os.environ.get("HUEY_QUEUE_NAME", "supportdesk")
HUEY_SQLITE_PATH = Path(os.environ.get("HUEY_SQLITE_PATH", DATA_DIR / "huey.sqlite3"))
HUEY = build_huey(
    name=HUEY_QUEUE_NAME,
    redis_url=REDIS_URL,
    sqlite_path=HUEY_SQLITE_PATH,
    immediate=env_bool("HUEY_IMMEDIATE", False),
)
# Worker threads of the consumer embedded in `manage.py serve`.
HUEY_WORKERS = int(os.environ.get("HUEY_WORKERS", "2"))
# How many runs of one organization execute at once, unless its admin page says otherwise: below
# the number of workers, so that one organization's flood never takes every worker. (Embedded:
# one less than HUEY_WORKERS; scale-out: set it below your total worker threads.)
ORGANIZATION_CONCURRENCY = int(
    os.environ.get("SUPPORTDESK_ORG_CONCURRENCY", str(max(1, HUEY_WORKERS - 1)))
)

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads replies with a 5 s socket timeout, the very time channels_redis'
            # blocking pop waits: on a busy event loop the empty reply came late, the read
            # timed out and the socket reading it died (redis/redis-py#4091). A longer one.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "supportdesk.inbox.layers.InProcessChannelLayer"}}

# The in-process worker runs inside `manage.py serve` unless the deployment runs `run_huey`.
EMBEDDED_WORKER = env_bool("EMBEDDED_WORKER", not REDIS_URL)

# Shared counters (rate limits): in this process in the embedded mode, in Redis when scaled out.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Rate limits of /api/ and /e/ (429 with Retry-After past them; one-minute windows).
RATE_LIMITS = {
    "KEY_REQUESTS_PER_MINUTE": int(os.environ.get("SUPPORTDESK_KEY_REQUESTS_PER_MINUTE", "600")),
    "ORG_REQUESTS_PER_MINUTE": int(os.environ.get("SUPPORTDESK_ORG_REQUESTS_PER_MINUTE", "1200")),
    "ORG_EVENTS_PER_MINUTE": int(os.environ.get("SUPPORTDESK_ORG_EVENTS_PER_MINUTE", "3000")),
    "MAX_EVENTS_PER_REQUEST": int(os.environ.get("SUPPORTDESK_MAX_EVENTS_PER_REQUEST", "500")),
    "NAMESPACE": os.environ.get("SUPPORTDESK_RATE_NAMESPACE", "v1"),
}

# --- Durable engine -----------------------------------------------------------------------------
DURABLE = {
    # A running run's lease; a worker renews it when 60 % of it has passed (every 4.8 s: as many
    # writes as the 15 s lease renewed every 5 s cost), the sweeper recovers runs whose lease
    # expired: a dead worker's run is running again within lease + sweep (≤ 9 s; ~6 s median).
    "LEASE_SECONDS": float(os.environ.get("DURABLE_LEASE_SECONDS", "8")),
    # How often the sweeper looks for expired leases, due timers and unprocessed events (reads
    # only, through partial indexes, when there is nothing to do).
    "SWEEP_SECONDS": float(os.environ.get("DURABLE_SWEEP_SECONDS", "1")),
    # A queued run nobody started for this long had its queue message lost (the broker was
    # down, say): the sweeper enqueues it again.
    "REQUEUE_AFTER_SECONDS": float(os.environ.get("DURABLE_REQUEUE_AFTER_SECONDS", "15")),
    # Fault injection for the reliability tests: "point[:step key]" makes the worker SIGKILL
    # itself there (points: before_step, after_step, after_checkpoint). Never set in production.
    "CRASH_AT": os.environ.get("DURABLE_CRASH_AT", ""),
    # First retry delay; doubles on each attempt.
    "RETRY_BASE_SECONDS": float(os.environ.get("DURABLE_RETRY_BASE_SECONDS", "1")),
    "RETRY_MAX_SECONDS": float(os.environ.get("DURABLE_RETRY_MAX_SECONDS", "300")),
    # A step result larger than this fails the step with a clear error.
    "MAX_STEP_OUTPUT_BYTES": int(
        os.environ.get("DURABLE_MAX_STEP_OUTPUT_BYTES", str(4 * 1024 * 1024))
    ),
    # Executions of one tenant at once when its domain sets no limit (None: unlimited). The desk
    # gives organizations their own (ORGANIZATION_CONCURRENCY, or the one set in admin).
    "TENANT_CONCURRENCY": None,
}

# --- Email and links ----------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "supportdesk@localhost")
# The SMTP server of EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
# Past this many notifications of one kind for an organization within a minute, the rest go out
# as one digest a minute (one email, one Slack post) instead of one each.
NOTIFICATION_DIGEST_AFTER = int(os.environ.get("SUPPORTDESK_NOTIFICATION_DIGEST_AFTER", "5"))
# A reviewer's open WebSockets check their session again this often (signing out, deactivation
# and removal as a reviewer close them at once anyway).
INBOX_SESSION_RECHECK_SECONDS = float(os.environ.get("INBOX_SESSION_RECHECK_SECONDS", "30"))
# Links in notifications point here.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_URL_SET = bool(os.environ.get("SITE_URL"))  # else `serve --port` makes it its own address
# The only URLs an organization's Slack webhook may have (checked on saving and on posting): the
# server must not be made to post to internal addresses. Comma-separated; see desk/webhooks.py.
SLACK_WEBHOOK_ALLOWED_PREFIXES = env_list(
    "SLACK_WEBHOOK_ALLOWED_PREFIXES", "https://hooks.slack.com/"
)
# The Slack Web API the Slack app calls (chat.postMessage, chat.update, views.open, users.info,
# chat.postEphemeral); tests point it at a fake on 127.0.0.1.
SLACK_API_URL = os.environ.get("SLACK_API_URL", "https://slack.com/api/").rstrip("/") + "/"
# Answering by email: notification emails carry a reply address reply+<token>@<this domain>, and
# the MTA hands replies to POST /inbound/email (with the secret below in X-Inbound-Email-Secret)
# or to `manage.py inbound_email`. Unset domain: no reply address, the endpoint answers 404.
INBOUND_EMAIL_DOMAIN = os.environ.get("INBOUND_EMAIL_DOMAIN", "").strip().lower()
INBOUND_EMAIL_SECRET = os.environ.get("INBOUND_EMAIL_SECRET", "")
# How long a reply address and an approval link sent by email stay valid.
EMAIL_TOKEN_MAX_AGE = os.environ.get("SUPPORTDESK_EMAIL_TOKEN_MAX_AGE", "7d")

# --- Auth, i18n, static ---------------------------------------------------------------------------
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

# Sign-in throttling (django-axes), on the reviewers' and the admin's login pages alike: after
# LOGIN_FAILURE_LIMIT failures in a row for one user name, or from one client address, sign-in is
# locked for LOGIN_LOCKOUT_MINUTES (every attempt while locked restarts the wait). Behind a proxy,
# run daphne with --proxy-headers so the address is the client's, not the proxy's.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "supportdesk.inbox.throttling.login_locked_out"
AXES_USERNAME_CALLABLE = "supportdesk.inbox.throttling.login_username"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/inbox/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# WhiteNoise serves the files of `collectstatic` and, without it, straight from the apps' and the
# project's static dirs (a new user needs no collectstatic, with DEBUG off too).
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Event keys travel in URLs (/e/<key>): no log line shows more than their visible prefix.
    "filters": {"redact_event_keys": {"()": "supportdesk.server.RedactEventKeys"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_event_keys"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "huey": {"level": os.environ.get("HUEY_LOG_LEVEL", "WARNING")},
        # Only our handler: Django's default one (DEBUG only) would print paths unredacted.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "httpx2": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # Lockouts are warnings; every failed or successful sign-in would be an INFO line.
        "axes": {"level": "WARNING"},
    },
}

# Modules holding durable functions beyond each app's `workflows.py` (tests register their own).
DURABLE_WORKFLOW_MODULES = env_list("DURABLE_WORKFLOW_MODULES", "")

# --- Support desk -------------------------------------------------------------------------------
# How long `ask_developer` waits for a reviewer before the agent goes on without an answer.
# Every human request's deadline, whatever its priority, when set (a trial, a test); unset, the
# deadline comes from the organization's deadlines by priority (critical 30 min, high 2 h,
# medium 4 h, low 24 h by default).
QUESTION_TIMEOUT = os.environ.get("SUPPORTDESK_QUESTION_TIMEOUT") or None
# With ANTHROPIC_API_KEY set the agents use Claude; without it, the offline demo model.
ANTHROPIC_API_KEY_SET = bool(os.environ.get("ANTHROPIC_API_KEY"))
ANTHROPIC_MODEL = os.environ.get("ANTHROPIC_MODEL", "claude-haiku-4-5")
# An answer accepted just before a question expires still reaches its run: the run's wait outlives
# the question by this much.
QUESTION_ANSWER_GRACE = os.environ.get("SUPPORTDESK_QUESTION_ANSWER_GRACE", "30s")
# Similar questions are grouped by word overlap, offline; with an embeddings endpoint (OpenAI- or
# Voyage-compatible: POST {"model", "input"} → {"data": [{"embedding"}]}) by embeddings instead.
EMBEDDINGS_URL = os.environ.get("SUPPORTDESK_EMBEDDINGS_URL", "")
EMBEDDINGS_MODEL = os.environ.get("SUPPORTDESK_EMBEDDINGS_MODEL", "voyage-3.5-lite")
EMBEDDINGS_API_KEY = os.environ.get("SUPPORTDESK_EMBEDDINGS_API_KEY", "")
EMBEDDINGS_THRESHOLD = float(os.environ.get("SUPPORTDESK_EMBEDDINGS_THRESHOLD", "0.8"))
