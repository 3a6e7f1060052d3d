"""Forms of the setup pages (first-run setup, invitations, working hours, public holidays,
inbound sources). They check input and its length; the services enforce the rules."""

from __future__ import annotations

from django import forms

from agreements.hours import WEEKDAYS, parse_day
from agreements.models import Membership


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Membership.Role.choices)


class AcceptForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    password_again = forms.CharField(
        widget=forms.PasswordInput, max_length=128, label="Password again"
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


class SetupForm(forms.Form):
    marketing_name = forms.CharField(max_length=100, initial="Marketing", label="Marketing team")
    sales_name = forms.CharField(max_length=100, initial="Sales", label="Sales team")
    marketing_manager_email = forms.EmailField(
        max_length=254,
        required=False,
        label="Marketing manager's email",
        help_text="They get a link to set a password (valid 7 days).",
    )
    sales_manager_email = forms.EmailField(
        max_length=254, required=False, label="Sales manager's email"
    )
    calendar_name = forms.CharField(max_length=100, initial="Office hours", label="Calendar")
    timezone = forms.CharField(
        max_length=64,
        initial="Europe/Berlin",
        label="Time zone",
        help_text="IANA name, e.g. Europe/Berlin or America/New_York.",
    )
    holiday_country = forms.CharField(
        max_length=2,
        required=False,
        label="Public holidays of (country)",
        help_text="ISO code, e.g. DE or US; empty for none.",
    )
    holiday_subdivision = forms.CharField(
        max_length=10, required=False, label="Region", help_text="Optional, e.g. BY or NY."
    )
    agreement_name = forms.CharField(
        max_length=150, initial="Marketing–Sales SLA", label="Agreement"
    )


class HoursForm(forms.Form):
    """One text per weekday: "09:00-12:00, 13:00-17:00"; empty for a day off."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day, name in enumerate(WEEKDAYS):
            self.fields[f"day_{day}"] = forms.CharField(
                max_length=200,
                required=False,
                label=name,
                widget=forms.TextInput(attrs={"size": 32, "placeholder": "09:00-17:00"}),
            )

    def clean(self):
        data = super().clean()
        week = {}
        for day in range(7):
            try:
                week[day] = parse_day(data.get(f"day_{day}", ""))
            except ValueError as exc:
                self.add_error(f"day_{day}", str(exc))
        data["week"] = week
        return data


class PublicHolidaysForm(forms.Form):
    country = forms.CharField(max_length=2, required=False, help_text="ISO code, e.g. DE.")
    subdivision = forms.CharField(
        max_length=10, required=False, label="Region", help_text="Optional, e.g. BY."
    )


class WebhookSourceForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="e.g. “HubSpot” or “Zapier”.")
    slug = forms.SlugField(
        max_length=50, help_text="Its endpoint: /api/v1/inbound/<slug>/ (letters, digits, -)."
    )
    source_system = forms.CharField(
        max_length=50,
        required=False,
        help_text="Leads from here are keyed by this system name; empty: the slug.",
    )
