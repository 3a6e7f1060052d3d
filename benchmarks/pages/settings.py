"""Production settings (slahub.settings, DEBUG off) for the pages bench, with two changes:
the URLs add the floor page (benchmarks/pages/urls.py), and static URLs come from the finders'
plain storage so the bench needs no collectstatic (the pages it times fetch no static file)."""

import os

from slahub.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.pages.urls"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

# A key prefix of this run's own: nothing cached by an earlier run is read back.
CACHES["default"]["KEY_PREFIX"] = os.environ.get("BENCH_CACHE_PREFIX", "slahub-bench")  # noqa: F405
