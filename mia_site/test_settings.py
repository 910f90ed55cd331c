"""Test settings: in-memory channel layer, eager Celery, fast hashing.

Integration tests that need the real Redis and a real worker override these on purpose.
"""

from mia_site.settings import *  # noqa: F403
from mia_site.settings import VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405
# No Redis in unit tests: the state cache and heartbeats go through this switch.
MIA_REDIS_ENABLED = False
# Tests serve static files through the finders; no collectstatic run is needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
(VAR_DIR / "staticfiles").mkdir(parents=True, exist_ok=True)
