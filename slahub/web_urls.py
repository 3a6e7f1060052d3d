"""Browser dashboard pages. The names home, lead-detail, breach-list, breach-detail,
agreement-detail, settings-notifications and settings-tokens are fixed (emails and reports
link to them)."""

from django.urls import include, path

from agreements import views as agreement_views
from alerts import urls as alert_urls
from audit import views as audit_views
from connectors import views as connector_views
from integrations import views as import_views
from leads import list_views as lead_list_views
from leads import views as lead_views
from reports import views as report_views
from slahub import views

urlpatterns = [
    path("", views.home, name="home"),
    path("welcome/", views.welcome, name="welcome"),
    path("queue/", lead_views.queue, name="queue"),
    path("team/", report_views.team_home, name="team-home"),
    path("marketing/", report_views.marketing_home, name="marketing-home"),
    # Leads
    path("leads/", lead_list_views.lead_list_page, name="lead-list"),
    path("leads/export.csv", lead_list_views.lead_export, name="lead-export"),
    path("leads/bulk/", lead_list_views.lead_bulk, name="lead-bulk"),
    path("leads/new/", lead_list_views.lead_new, name="lead-new"),
    path("leads/<int:pk>/hand-off/", lead_list_views.lead_hand_off, name="lead-hand-off"),
    path("leads/<int:pk>/", lead_views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/activities/", lead_views.lead_log_activity, name="lead-log-activity"),
    path("leads/<int:pk>/accept/", lead_views.lead_accept, name="lead-accept"),
    path("leads/<int:pk>/reject/", lead_views.lead_reject, name="lead-reject"),
    path("leads/<int:pk>/stage/", lead_views.lead_stage, name="lead-stage"),
    path("leads/<int:pk>/reassign/", lead_views.lead_reassign, name="lead-reassign"),
    path("activities/<int:pk>/undo/", lead_views.activity_undo, name="activity-undo"),
    # CSV imports
    path("imports/", import_views.import_list, name="import-list"),
    path("imports/preview/", import_views.import_preview, name="import-preview"),
    path("imports/start/", import_views.import_start, name="import-start"),
    path("imports/<int:pk>/", import_views.import_detail, name="import-detail"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import-progress"),
    path("imports/<int:pk>/report.csv", import_views.import_report, name="import-report"),
    # Breaches
    path("breaches/", lead_views.breach_list, name="breach-list"),
    path(
        "breaches/acknowledge/",
        lead_views.breach_bulk_acknowledge,
        name="breach-bulk-acknowledge",
    ),
    path("breaches/contests/", lead_views.breach_contests, name="breach-contests"),
    path("leads/<int:pk>/contest/", lead_views.breach_contest_open, name="lead-contest"),
    path("contests/<int:pk>/decide/", lead_views.breach_contest_decide, name="contest-decide"),
    path("breaches/<int:pk>/", lead_views.breach_detail, name="breach-detail"),
    path(
        "breaches/<int:pk>/acknowledge/",
        lead_views.breach_acknowledge,
        name="breach-acknowledge",
    ),
    path("breaches/<int:pk>/dispute/", lead_views.breach_dispute, name="breach-dispute"),
    path("breaches/<int:pk>/resolve/", lead_views.breach_resolve, name="breach-resolve"),
    path("breaches/<int:pk>/comments/", lead_views.breach_comment, name="breach-comment"),
    # Agreements
    path("agreements/", agreement_views.agreement_list, name="agreement-list"),
    path("agreements/<int:pk>/", agreement_views.agreement_detail, name="agreement-detail"),
    path("agreements/", include("agreements.quota_urls")),
    path("agreements/<int:pk>/versions/", agreement_views.version_draft, name="version-draft"),
    path(
        "agreements/<int:pk>/versions/<int:number>/commitments/",
        agreement_views.commitment_add,
        name="commitment-add",
    ),
    path(
        "agreements/<int:pk>/versions/<int:number>/comments/",
        agreement_views.term_comment,
        name="term-comment",
    ),
    path(
        "agreements/<int:pk>/versions/<int:number>/reopen/",
        agreement_views.version_reopen,
        name="version-reopen",
    ),
    path(
        "agreements/<int:pk>/versions/<int:number>/commitments/preview/",
        agreement_views.commitment_preview,
        name="commitment-preview",
    ),
    path(
        "agreements/<int:pk>/versions/<int:number>/commitments/<int:commitment>/edit/",
        agreement_views.commitment_edit,
        name="commitment-edit",
    ),
    path(
        "agreements/<int:pk>/versions/<int:number>/commitments/<int:commitment>/move/",
        agreement_views.commitment_move,
        name="commitment-move",
    ),
    path(
        "agreements/<int:pk>/versions/<int:number>/commitments/<int:commitment>/remove/",
        agreement_views.commitment_remove,
        name="commitment-remove",
    ),
    path(
        "agreements/<int:pk>/versions/<int:number>/propose/",
        agreement_views.version_propose,
        name="version-propose",
    ),
    path(
        "agreements/<int:pk>/versions/<int:number>/sign/",
        agreement_views.version_sign,
        name="version-sign",
    ),
    path("", include("agreements.review_urls")),  # shared goals and joint reviews
    # Settings
    path("settings/", views.settings_index, name="settings"),
    path("settings/setup/", views.settings_setup, name="settings-setup"),
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation-accept"),
    path("settings/calendars/", views.settings_calendars, name="settings-calendars"),
    path(
        "settings/calendars/<int:pk>/hours/",
        views.settings_calendar_hours,
        name="settings-calendar-hours",
    ),
    path(
        "settings/calendars/<int:pk>/public-holidays/",
        views.settings_calendar_public_holidays,
        name="settings-calendar-public-holidays",
    ),
    path(
        "settings/calendars/<int:pk>/holidays/",
        views.settings_holiday_add,
        name="settings-holiday-add",
    ),
    path(
        "settings/holidays/<int:pk>/delete/",
        views.settings_holiday_delete,
        name="settings-holiday-delete",
    ),
    path("settings/teams/", views.settings_teams, name="settings-teams"),
    path("settings/teams/<int:pk>/members/", views.settings_member_add, name="settings-member-add"),
    path("settings/teams/<int:pk>/invitations/", views.settings_invite, name="settings-invite"),
    path(
        "settings/teams/<int:pk>/members/<int:user>/role/",
        views.settings_member_role,
        name="settings-member-role",
    ),
    path(
        "settings/teams/<int:pk>/members/<int:user>/remove/",
        views.settings_member_remove,
        name="settings-member-remove",
    ),
    path("settings/rejection-reasons/", views.settings_reasons, name="settings-reasons"),
    path(
        "settings/rejection-reasons/<int:pk>/toggle/",
        views.settings_reason_toggle,
        name="settings-reason-toggle",
    ),
    path("settings/notifications/", views.settings_notifications, name="settings-notifications"),
    path("settings/tokens/", views.settings_tokens, name="settings-tokens"),
    path(
        "settings/webhook-sources/",
        views.settings_webhook_sources,
        name="settings-webhook-sources",
    ),
    path(
        "settings/webhook-sources/<int:pk>/rotate/",
        views.settings_webhook_source_rotate,
        name="settings-webhook-source-rotate",
    ),
    path(
        "settings/webhook-sources/<int:pk>/toggle/",
        views.settings_webhook_source_toggle,
        name="settings-webhook-source-toggle",
    ),
    path("settings/audit/", audit_views.audit_log, name="settings-audit"),
    path("settings/connectors/", connector_views.connectors_page, name="settings-connectors"),
    path(
        "settings/connectors/<str:kind>/", connector_views.connector_edit, name="settings-connector"
    ),
    path(
        "settings/connectors/<str:kind>/sync/",
        connector_views.connector_sync,
        name="settings-connector-sync",
    ),
    path(
        "settings/connectors/<str:kind>/runs/<int:pk>/",
        connector_views.connector_run,
        name="settings-connector-run",
    ),
    path(
        "settings/tokens/<int:pk>/revoke/",
        views.settings_token_revoke,
        name="settings-token-revoke",
    ),
]
urlpatterns += alert_urls.urlpatterns  # chat channels beside settings-notifications
urlpatterns += [path("", include("agreements.replay_urls"))]  # the what-if replay of a draft
