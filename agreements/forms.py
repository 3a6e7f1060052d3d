"""Forms of the agreement pages. The services validate the terms; these check input."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from agreements import kinds
from agreements.businesstime import ClockDuration
from agreements.models import Commitment
from agreements.quota_calculator import QuotaInputs
from slahub.limits import text_field


class DraftForm(forms.Form):
    summary = text_field(
        label="What changes, and why",
        help_text="The new version starts as a copy of the latest terms.",
    )


class TermCommentForm(forms.Form):
    clause = forms.UUIDField(widget=forms.HiddenInput)
    body = forms.CharField(
        label="Your comment",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label="What needs to change",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The signatures given so far are void; both sides sign the changed terms.",
    )


class ProposeForm(forms.Form):
    """When the proposed terms start. Empty: when the second side signs."""

    effective_from = forms.DateField(
        required=False,
        label="In force from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: a later date (00:00 in the agreement's time zone). Empty: as "
        "soon as both sides have signed. An earlier date (a backfill) is for staff.",
    )
    effective_reason = text_field(
        required=False,
        label="Why it starts in the past",
        help_text="Required for an earlier date.",
    )
    applies_to_running_periods = forms.BooleanField(
        required=False,
        label="Also judge the quota periods already running by these terms",
    )


UNITS = (("minutes", "minutes"), ("hours", "hours"), ("days", "days"))
_UNIT_SECONDS = {"minutes": 60, "hours": 3600}
ISO = "iso"  # the unit a client posting `within=PT4H` gets


def duration_parts(text: str) -> tuple[int | None, str]:
    """'PT4H' → (4, 'hours'), 'P2D' → (2, 'days'), 'PT90M' → (90, 'minutes'). A duration
    that mixes days with hours (possible through the API) has no single unit: (None, '')."""
    try:
        duration = ClockDuration.parse(text)
    except ValueError:
        return None, ""
    if duration.days and not duration.seconds:
        return duration.days, "days"
    if duration.days or not duration.seconds or duration.seconds % 60:
        return None, ""
    if duration.seconds % 3600 == 0:
        return duration.seconds // 3600, "hours"
    return duration.seconds // 60, "minutes"


def duration_text(amount: int, unit: str) -> str:
    """(4, 'hours') → 'PT4H'; days are working days on a business clock."""
    if unit == "days":
        return ClockDuration(days=amount).isoformat()
    return ClockDuration(seconds=amount * _UNIT_SECONDS[unit]).isoformat()


class DurationWidget(forms.MultiWidget):
    """A number and a unit. A client that posts the ISO form (`within=PT4H`) is understood too."""

    def __init__(self, attrs=None):
        super().__init__(
            [
                forms.NumberInput(attrs={"min": 1, "step": 1, "class": "duration-amount"}),
                forms.Select(choices=UNITS),
            ],
            attrs,
        )

    def id_for_label(self, id_):
        return f"{id_}_0" if id_ else id_

    def decompress(self, value):
        return list(duration_parts(value)) if value else [None, "hours"]

    def value_from_datadict(self, data, files, name):
        if data.get(name):
            return [data[name], ISO]
        return super().value_from_datadict(data, files, name)


class DurationField(forms.MultiValueField):
    widget = DurationWidget

    def __init__(self, **kwargs):
        fields = (
            forms.IntegerField(min_value=1, max_value=100_000, required=False),
            forms.ChoiceField(choices=UNITS, required=False),
        )
        super().__init__(fields, require_all_fields=False, required=False, **kwargs)

    def clean(self, value):
        amount, unit = (list(value or []) + [None, None])[:2]
        if amount in (None, ""):
            return ""
        if unit == ISO:
            try:
                return ClockDuration.parse(amount).isoformat()
            except ValueError:
                raise ValidationError("Enter a duration such as 4 hours.", code="invalid") from None
        try:
            amount = int(amount)
        except (TypeError, ValueError):
            raise ValidationError("Enter a whole number, e.g. 4.", code="invalid") from None
        if amount < 1:
            raise ValidationError("Enter a number of 1 or more.", code="min_value")
        if unit not in _UNIT_SECONDS and unit != "days":
            raise ValidationError("Choose minutes, hours or days.", code="invalid")
        try:
            return duration_text(amount, unit)
        except ValueError:
            raise ValidationError("That is too long.", code="invalid") from None


def _listed(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


# The targeting fields of the form and the `applies_to` keys they fill.
TARGETING = {
    "tiers": "tier",
    "sources": "lead_source",
    "countries": "country",
    "campaigns": "campaign",
}


class CommitmentForm(forms.Form):
    """One promise in a draft, with only the fields its kind reads (agreements.kinds). The
    durations are a number and a unit; `applies_to` is filled from the targeting fields."""

    kind = forms.ChoiceField(choices=Commitment.Kind.choices)
    name = forms.CharField(
        required=False, max_length=150, help_text="Optional: a short name for this promise."
    )
    clock = forms.ChoiceField(
        choices=Commitment.Clock.choices,
        initial=Commitment.Clock.BUSINESS,
        required=False,
        help_text="Business time counts only the calendar's working hours; days are working days.",
    )
    within = DurationField(label="Within", help_text="From hand-off, e.g. 4 hours.")
    attempts = forms.IntegerField(
        required=False, min_value=1, max_value=50, help_text="Touch attempts in all."
    )
    every = DurationField(label="Each attempt within", help_text="Of the previous attempt.")
    min_gap = DurationField(
        label="Touches closer than this count as one",
        help_text="Elapsed time. Empty: every touch counts as an attempt.",
    )
    warn_at_pct = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=99,
        initial=80,
        label="Warn when this % of the time has passed",
        help_text="Empty: no warning.",
    )
    target = forms.IntegerField(required=False, min_value=1, max_value=10_000_000)
    stage = forms.ChoiceField(
        required=False, choices=[("", "—"), *Commitment.Stage.choices], label="Leads reaching"
    )
    period = forms.ChoiceField(
        required=False, choices=[("", "—"), *Commitment.Period.choices], label="Each"
    )
    min_acceptance_pct = forms.IntegerField(
        required=False, min_value=0, max_value=100, label="Accepted at least (%)"
    )
    min_sample = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100_000,
        initial=10,
        label="Judged from at least this many dispositions",
    )
    tiers = forms.CharField(required=False, max_length=500, help_text="e.g. A, B")
    sources = forms.CharField(required=False, max_length=500, help_text="e.g. Webinar, Paid search")
    countries = forms.CharField(required=False, max_length=500, help_text="e.g. DE, FR")
    campaigns = forms.CharField(required=False, max_length=500)
    min_score = forms.IntegerField(required=False, min_value=0, max_value=1_000_000)

    # Form field → the commitment field whose kinds show it (targeting reads applies_to).
    _READS = {**{name: "applies_to" for name in (*TARGETING, "min_score")}}

    def __init__(self, *args, kind: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fixed_kind = kind
        if kind:
            self.fields["kind"].initial = kind
            self.fields["kind"].disabled = True
        for name, field in self.fields.items():
            if isinstance(field, DurationField):
                field.widget.widgets[0].attrs["aria-label"] = f"{field.label}: number"
                field.widget.widgets[1].attrs["aria-label"] = f"{field.label}: unit"
            reads = self._READS.get(name, name)
            field.kinds = " ".join(
                code for code, spec in kinds.KINDS.items() if reads in spec.fields
            )

    @classmethod
    def for_commitment(cls, commitment: Commitment, **kwargs) -> CommitmentForm:
        """The edit form of a draft's commitment, filled with its terms."""
        applies_to = commitment.applies_to or {}

        def joined(key: str) -> str:
            value = applies_to.get(key) or []
            return ", ".join([value] if isinstance(value, str) else value)

        initial = {
            name: getattr(commitment, name)
            for name in (
                "name",
                "clock",
                "within",
                "attempts",
                "every",
                "min_gap",
                "warn_at_pct",
                "target",
                "stage",
                "period",
                "min_acceptance_pct",
                "min_sample",
            )
        }
        initial.update({field: joined(key) for field, key in TARGETING.items()})
        initial["min_score"] = applies_to.get("min_score")
        return cls(kind=commitment.kind, initial=initial, **kwargs)

    def clean(self):
        data = super().clean()
        spec = kinds.KINDS.get(self.fixed_kind or data.get("kind") or "")
        if spec is None:
            return data
        for name in list(self.errors):  # a field this kind does not read is not checked
            if name not in ("kind", "name") and self._READS.get(name, name) not in spec.fields:
                del self.errors[name]
        for name in spec.required:
            if name in self.fields and data.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, f"Required for a {spec.label.lower()} commitment.")
        return data

    def commitment_fields(self) -> dict:
        """The commitment's fields for its kind; a field the kind does not read keeps its
        default (so a value typed before the kind was changed is not stored)."""
        data = self.cleaned_data
        kind = self.fixed_kind or data["kind"]
        reads = kinds.KINDS[kind].fields
        fields: dict = {} if self.fixed_kind else {"kind": kind}
        fields["name"] = data.get("name") or ""
        defaults = {
            "clock": Commitment.Clock.BUSINESS,
            "warn_at_pct": None,
            "within": "",
            "attempts": None,
            "every": "",
            "min_gap": "",
            "target": None,
            "stage": "",
            "period": "",
            "min_acceptance_pct": None,
            "min_sample": 10,
        }
        for name, default in defaults.items():
            value = data.get(name)
            fields[name] = value if name in reads and value not in (None, "") else default
        if "warn_at_pct" in reads:
            fields["warn_at_pct"] = data.get("warn_at_pct")  # empty means no warning
        if "min_gap" in reads:
            fields["min_gap"] = data.get("min_gap") or ""
        applies_to: dict = {}
        if "applies_to" in reads:
            for field, key in TARGETING.items():
                if values := _listed(data.get(field, "")):
                    applies_to[key] = values
            if data.get("min_score") is not None:
                applies_to["min_score"] = data["min_score"]
        fields["applies_to"] = applies_to
        return fields


def _pct_field(label: str, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=0.1,
        max_value=100,
        decimal_places=1,
        max_digits=4,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "0.1", "max": "100"}),
    )


class QuotaForm(forms.Form):
    """The quota calculator's assumptions (agreements.quota_calculator does the sums)."""

    revenue_goal = forms.DecimalField(
        label="Revenue goal", min_value=1, max_digits=14, decimal_places=2
    )
    period = forms.ChoiceField(
        label="For",
        choices=[("month", "a month"), ("quarter", "a quarter"), ("year", "a year")],
        initial="quarter",
    )
    marketing_share_pct = _pct_field(
        "Share from marketing-sourced deals (%)", "The part of the goal marketing's leads bring."
    )
    average_deal = forms.DecimalField(
        label="Average won deal", min_value=1, max_digits=14, decimal_places=2
    )
    sql_to_won_pct = _pct_field("SQL → won (%)")
    sal_to_sql_pct = _pct_field("SAL → SQL (%)")
    mql_to_sal_pct = _pct_field("MQL → SAL (%)")
    stage = forms.ChoiceField(
        label="Marketing's lead-volume commitment counts",
        choices=[("mql", "MQLs"), ("sal", "SALs"), ("sql", "SQLs")],
        initial="sql",
    )

    def inputs(self) -> QuotaInputs:
        data = self.cleaned_data
        return QuotaInputs(**{name: data[name] for name in QuotaInputs.__dataclass_fields__})
