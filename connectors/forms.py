"""The connector settings form (one for both kinds; the Salesforce fields only show for it).
Secret fields are write-only: never rendered back, left blank to keep the stored value."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.contrib.auth import get_user_model

from agreements import access
from agreements.models import Side, Team
from connectors.models import Connector
from connectors.services import format_stage_map, parse_stage_map

SALESFORCE_HOSTS = (".salesforce.com", ".force.com", ".cloudforce.com")


def _salesforce_url(value: str, what: str) -> str:
    parts = urlsplit(value or "")
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host.endswith(SALESFORCE_HOSTS):
        raise forms.ValidationError(
            f"Give the {what} as https://…salesforce.com (or …force.com), as Salesforce shows it."
        )
    return f"https://{host}"


class ConnectorForm(forms.Form):
    sales_team = forms.ModelChoiceField(queryset=Team.objects.none())
    marketing_team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    run_as = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        label="Integration user",
        help_text="A member of the sales team; the connector's changes are recorded as this user.",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Pull on the schedule")
    stage_map = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        label="Stage table",
        help_text="One “CRM stage = SLA Hub stage” a line, e.g. “marketingqualifiedlead = mql”, "
        "“closedwon = won”. Unlisted CRM stages leave the lead's stage alone.",
    )
    writeback_first_touch_due = forms.CharField(
        max_length=100, required=False, label="CRM field for “first touch due”"
    )
    writeback_sla_status = forms.CharField(
        max_length=100, required=False, label="CRM field for “SLA status”"
    )

    def __init__(self, *args, user, kind: str, connector: Connector | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        # A sales manager routes to a partner marketing team (and a marketing manager the
        # other way round): the teams visible across an agreement in force.
        visible = Team.objects.all() if access.is_staff(user) else access.teams_visible_to(user)
        self.fields["sales_team"].queryset = visible.filter(side=Side.SALES)
        self.fields["marketing_team"].queryset = visible.filter(side=Side.MARKETING)
        self.fields["run_as"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, memberships__team__in=visible.filter(side=Side.SALES))
            .distinct()
            .order_by("username")
        )
        if kind == Connector.Kind.HUBSPOT:
            self.fields["token"] = forms.CharField(
                required=False,
                label="Private app access token",
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text="Leave blank to keep the stored token.",
            )
        else:
            self.fields["instance_url"] = forms.CharField(
                max_length=200,
                label="Instance URL",
                help_text="e.g. https://acme.my.salesforce.com",
            )
            self.fields["login_url"] = forms.CharField(
                max_length=200,
                initial="https://login.salesforce.com",
                label="Login URL",
                help_text="https://test.salesforce.com for a sandbox.",
            )
            self.fields["auth"] = forms.ChoiceField(
                choices=[("refresh", "OAuth 2.0 refresh token"), ("jwt", "OAuth 2.0 JWT bearer")],
                label="Sign-in flow",
            )
            self.fields["client_id"] = forms.CharField(
                max_length=300, label="Connected app consumer key"
            )
            self.fields["username"] = forms.CharField(
                max_length=200,
                required=False,
                label="Integration user's Salesforce username",
                help_text="JWT bearer only.",
            )
            for name, label, widget in [
                ("client_secret", "Consumer secret", forms.PasswordInput(render_value=False)),
                ("refresh_token", "Refresh token", forms.PasswordInput(render_value=False)),
                ("private_key", "Private key (PEM), JWT only", forms.Textarea(attrs={"rows": 3})),
            ]:
                self.fields[name] = forms.CharField(
                    required=False,
                    label=label,
                    widget=widget,
                    help_text="Leave blank to keep the stored one.",
                )
        if connector is not None and not self.is_bound:
            self.initial |= {
                "sales_team": connector.sales_team_id,
                "marketing_team": connector.marketing_team_id,
                "run_as": connector.run_as_id,
                "enabled": connector.enabled,
                "stage_map": format_stage_map(connector.settings.get("stage_map") or {}),
                **{
                    f"writeback_{k}": v
                    for k, v in (connector.settings.get("writeback") or {}).items()
                },
                **{
                    k: connector.settings[k]
                    for k in ("instance_url", "login_url", "auth", "client_id", "username")
                    if k in connector.settings
                },
            }

    def clean_stage_map(self) -> dict[str, str]:
        try:
            return parse_stage_map(self.cleaned_data["stage_map"])
        except Exception as exc:  # agreements.errors.ValidationError: its messages
            raise forms.ValidationError(getattr(exc, "messages", [str(exc)])) from None

    def clean_instance_url(self) -> str:
        return _salesforce_url(self.cleaned_data["instance_url"], "instance URL")

    def clean_login_url(self) -> str:
        return _salesforce_url(self.cleaned_data["login_url"], "login URL")

    def clean(self):
        data = super().clean()
        jwt = self.kind == Connector.Kind.SALESFORCE and data.get("auth") == "jwt"
        if jwt and not data.get("username"):
            self.add_error("username", "The JWT bearer flow signs in as this username.")
        return data
