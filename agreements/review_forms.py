"""Forms of the shared-goal and joint-review pages. The services hold the rules; these check
input and offer the choices (metrics, periods, the people of both teams)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from agreements.models import Agreement, Commitment, Goal, Membership
from slahub.limits import text_field


def people_of(agreement: Agreement):
    """The members of either team of the agreement, by name."""
    ids = Membership.objects.filter(
        team_id__in=[agreement.marketing_team_id, agreement.sales_team_id]
    ).values("user_id")
    return get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("username")


class _DateInput(forms.DateInput):
    input_type = "date"


class GoalForm(forms.Form):
    name = forms.CharField(max_length=150, label="Goal")
    metric = forms.ChoiceField(label="Measured by")
    target = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, label="Target")
    period = forms.ChoiceField(choices=Commitment.Period.choices, initial="month", label="Per")
    starts_on = forms.DateField(widget=_DateInput, label="From")
    ends_on = forms.DateField(widget=_DateInput, required=False, label="Until (optional)")
    sides = forms.ChoiceField(choices=Goal.Sides.choices, initial="both", label="Owned by")
    owner = forms.ModelChoiceField(queryset=None, label="Named owner")
    notes = text_field(label="Why this goal (optional)", required=False)

    def __init__(self, *args, agreement: Agreement, **kwargs) -> None:
        from reports.goals import GOAL_METRICS

        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [(k, m.label) for k, m in GOAL_METRICS.items()]
        self.fields["owner"].queryset = people_of(agreement)


class CheckInForm(forms.Form):
    on = forms.DateField(widget=_DateInput, required=False, label="Date (default: today)")
    marketing_note = text_field(label="Marketing's note", required=False)
    sales_note = text_field(label="Sales' note", required=False)


class ReviewForm(forms.Form):
    held_on = forms.DateField(widget=_DateInput, label="Meeting date")
    month = forms.DateField(
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        required=False,
        label="Month reviewed",
        help_text="Empty: the month before the meeting.",
    )


class ReviewNotesForm(forms.Form):
    notes = text_field(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 5}))


class ActionItemForm(forms.Form):
    text = forms.CharField(max_length=300, label="Action")
    owner = forms.ModelChoiceField(queryset=None, label="Owner")
    due_on = forms.DateField(widget=_DateInput, label="Due")

    def __init__(self, *args, agreement: Agreement, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people_of(agreement)
