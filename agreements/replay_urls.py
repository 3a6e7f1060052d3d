"""Pages of the what-if replay (included by slahub.web_urls)."""

from django.urls import path

from agreements import replay_views

urlpatterns = [
    path(
        "agreements/<int:pk>/versions/<int:number>/replay/",
        replay_views.version_replay,
        name="version-replay",
    ),
    path(
        "agreements/<int:pk>/versions/<int:number>/replay/progress/",
        replay_views.version_replay_progress,
        name="version-replay-progress",
    ),
]
