"""Pages of the alerts app beside /settings/notifications/ (which slahub.web_urls names)."""

from django.urls import path

from alerts import views

urlpatterns = [
    path(
        "settings/notifications/chat/",
        views.settings_chat_destinations,
        name="settings-chat-destinations",
    ),
    path(
        "settings/notifications/teams/<int:pk>/",
        views.settings_team_channel,
        name="settings-team-channel",
    ),
]
