"""Report pages."""

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.compliance, name="compliance"),
    path("compliance/", views.compliance, name="compliance-page"),
    path("funnel/", views.funnel, name="funnel"),
    path("leads/", views.leads, name="leads"),
    path("scorecard/", views.scorecard_page, name="scorecard"),
    path("review/", views.review, name="review"),
    path("export/<slug:page>/<slug:table>.csv", views.export, name="export"),
]
