"""The quota calculator's pages (included under /agreements/ by slahub.web_urls)."""

from django.urls import path

from agreements import quota_views

urlpatterns = [
    path(
        "<int:pk>/versions/<int:number>/quota/",
        quota_views.quota_calculator,
        name="quota-calculator",
    ),
    path(
        "<int:pk>/versions/<int:number>/quota/apply/",
        quota_views.quota_apply,
        name="quota-apply",
    ),
]
