"""Forms of the agreement pages. The services validate the terms; these check input."""

from __future__ import annotations

from django import forms

from agreements.models import Commitment
from slahub.limits import text_field


class DraftForm(forms.Form):
    summary = text_field(
        label="What changes, and why",
        help_text="The new version starts as a copy of the latest terms.",
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


class CommitmentForm(forms.ModelForm):
    """One new promise in a draft. `tiers` fills the `applies_to` filter."""

    tiers = forms.CharField(
        required=False,
        help_text="Comma-separated tiers this applies to, e.g. A, B. Empty: every lead.",
    )

    class Meta:
        model = Commitment
        fields = [
            "kind",
            "order",
            "clock",
            "within",
            "attempts",
            "every",
            "min_gap",
            "target",
            "stage",
            "period",
            "min_acceptance_pct",
            "min_sample",
            "warn_at_pct",
        ]

    def commitment_fields(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "tiers"}
        tiers = [t.strip() for t in (self.cleaned_data.get("tiers") or "").split(",") if t.strip()]
        data["applies_to"] = {"tier": tiers} if tiers else {}
        for key in ("within", "every", "stage", "period"):
            data[key] = data.get(key) or ""
        return data
