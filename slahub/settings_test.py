"""Test settings: the real settings, with a fixed key and fast password hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from slahub.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_AUTOREFRESH = True  # serve from the finders; no collectstatic before tests
WHITENOISE_USE_FINDERS = True
# Tests clear the cache between cases; never flush a Redis database others use.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tests count every figure afresh; tests/test_web_shared_figures.py turns the cache on.
SLAHUB_SHARED_FIGURES_SECONDS = 0
# The test client and live server speak plain HTTP (tests of the redirect turn it on).
SECURE_SSL_REDIRECT = False
