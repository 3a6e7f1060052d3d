"""Report filters: one form validates the query string of the pages, the CSV exports and the
API (bad input becomes field messages, never an error page)."""

from __future__ import annotations

from datetime import date, datetime

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from agreements.models import Membership, Team
from reports import metrics
from reports.metrics import ReportFilter
from reports.selectors import agreements_visible_to, report_filter
from reports.shared import shared

MIN_DATE, MAX_DATE = date(2000, 1, 1), date(2999, 12, 31)
MAX_RANGE_DAYS = 3 * 366
MAX_ID = 2**63 - 1
FILTER_FIELDS = ("start", "end", "agreement", "team", "rep", "tier", "lead_source")


class ReportFilterForm(forms.Form):
    start = forms.DateField(required=False, help_text="First day (YYYY-MM-DD), inclusive.")
    end = forms.DateField(required=False, help_text="Last day (YYYY-MM-DD), inclusive.")
    agreement = forms.ModelChoiceField(queryset=None, required=False)
    team = forms.ModelChoiceField(queryset=None, required=False)
    rep = forms.ModelChoiceField(queryset=None, required=False)
    tier = forms.CharField(required=False, max_length=20)
    lead_source = forms.CharField(required=False, max_length=100, label="Lead source")

    def __init__(self, data=None, *, user, **kwargs):
        super().__init__(data, **kwargs)
        self.user = user
        agreements = agreements_visible_to(user)
        self.fields["agreement"].queryset = agreements
        team_ids = Q(marketing_agreements__in=agreements) | Q(sales_agreements__in=agreements)
        self.fields["team"].queryset = Team.objects.filter(team_ids).distinct()
        self.fields["rep"].queryset = (
            get_user_model()
            .objects.filter(
                pk__in=Membership.objects.filter(team__sales_agreements__in=agreements).values(
                    "user_id"
                )
            )
            .order_by("username")
        )
        self.fields["rep"].label_from_instance = _rep_label
        # The lists as the user's page shows them, kept as `reports.shared` keeps figures (a
        # few seconds; by user, as what he may see) and read only when the form is rendered;
        # a choice sent is still checked against the querysets above.
        self._choices: dict[str, list[tuple[str, str]]] | None = None
        for name in CHOICE_FIELDS:
            self.fields[name].widget.choices = _Choices(self, name)

    def rendered_choices(self) -> dict[str, list[tuple[str, str]]]:
        if self._choices is None:
            self._choices = shared("report-filter-choices", (self.user.pk,), self._count_choices)
        return self._choices

    def _count_choices(self) -> dict[str, list[tuple[str, str]]]:
        return {
            name: [(str(value), str(label)) for value, label in self.fields[name].choices]
            for name in CHOICE_FIELDS
        }

    def clean(self):
        data = super().clean()
        for name in ("start", "end"):
            day = data.get(name)
            if day is not None and not MIN_DATE <= day <= MAX_DATE:
                self.add_error(name, f"Choose a date between {MIN_DATE} and {MAX_DATE}.")
        start, end = data.get("start"), data.get("end")
        if start and end and not self.errors:
            if start > end:
                self.add_error("end", "The end must not be before the start.")
            elif (end - start).days > MAX_RANGE_DAYS:
                self.add_error("end", f"Choose a range of at most {MAX_RANGE_DAYS} days.")
        return data

    def report_filter(self, *, now: datetime) -> ReportFilter:
        data = self.cleaned_data
        return report_filter(
            self.user,
            now=now,
            start=data.get("start"),
            end=data.get("end"),
            agreement=data.get("agreement"),
            team_id=data["team"].pk if data.get("team") else None,
            rep_id=data["rep"].pk if data.get("rep") else None,
            tier=data.get("tier") or "",
            lead_source=data.get("lead_source") or "",
        )

    def query(self, f: ReportFilter) -> dict[str, str]:
        """The filter as query parameters, with the dates it resolved to."""
        data = self.cleaned_data
        query = {"start": f.first_day.isoformat(), "end": f.last_day.isoformat()}
        for name in ("agreement", "team", "rep"):
            if data.get(name):
                query[name] = str(data[name].pk)
        for name in ("tier", "lead_source"):
            if data.get(name):
                query[name] = data[name]
        return query


CHOICE_FIELDS = ("agreement", "team", "rep")


def _rep_label(user) -> str:
    return user.get_full_name() or user.username


class _Choices:
    """A select's options, from the form's cached lists when the widget renders."""

    def __init__(self, form: ReportFilterForm, name: str) -> None:
        self.form, self.name = form, name

    def __iter__(self):
        return iter(self.form.rendered_choices()[self.name])


def errors_of(form: forms.Form) -> dict[str, list[str]]:
    return {field: [str(m) for m in messages] for field, messages in form.errors.items()}


class LeadsBehindForm(forms.Form):
    """Which figure's leads to list (the parameters of `metrics.leads_behind`)."""

    metric = forms.ChoiceField(
        choices=[
            (m, m)
            for m in (*metrics.SALES_KINDS, "ttft", *metrics.DISPOSITIONS, "volume", "funnel")
        ]
    )
    outcome = forms.ChoiceField(
        required=False,
        choices=[("", "")] + [(o, o) for o in (*metrics.OUTCOMES, *metrics.FUNNEL_MEASURES)],
    )
    bucket = forms.ChoiceField(
        required=False,
        choices=[("", "")]
        + [(k, k) for k, *_ in metrics.TTFT_BUCKETS]
        + [(metrics.UNTOUCHED,) * 2],
    )
    reason = forms.CharField(required=False, max_length=300)
    by = forms.ChoiceField(
        required=False, choices=[("", "")] + [(g, g) for g in metrics.FUNNEL_GROUPS]
    )
    group = forms.CharField(required=False, max_length=200)
    period = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)

    def params(self) -> dict:
        d = self.cleaned_data
        return {
            "metric": d["metric"],
            "outcome": d.get("outcome") or ("mql" if d["metric"] == "funnel" else "decided"),
            "bucket": d.get("bucket") or "",
            "reason": d.get("reason") or "",
            "by": d.get("by") or "",
            "group": d.get("group") if "group" in self.data else None,
            "period_id": d.get("period"),
        }
