"""Forms of the lead and breach pages. They check input; the services hold the rules."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from agreements.models import RejectionReason, Side, Team
from leads.models import Activity, Breach, Stage
from slahub.limits import TEXT_MAX


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=Activity.Kind.choices, initial=Activity.Kind.CALL)
    outcome = forms.ChoiceField(
        choices=Activity.Outcome.choices,
        initial=Activity.Outcome.ATTEMPTED,
        help_text="Connected means you reached the person: the cadence stops.",
    )
    note = forms.CharField(
        required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class RejectForm(forms.Form):
    """A reason from the configured list (or free text while none is configured)."""

    reason = forms.CharField(max_length=150)

    def __init__(self, *args, reasons: list[RejectionReason] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if reasons:
            self.fields["reason"] = forms.ChoiceField(
                choices=[("", "Choose a reason…")] + [(r.code, r.label) for r in reasons]
            )


CLOSING_STAGES = [
    (Stage.SQL, "Qualified (SQL)"),
    (Stage.OPPORTUNITY, "Opportunity"),
    (Stage.WON, "Won"),
    (Stage.LOST, "Disqualified after contact (lost)"),
    (Stage.RECYCLED, "Recycle to marketing"),
]


class StageForm(forms.Form):
    stage = forms.ChoiceField(choices=CLOSING_STAGES)
    note = forms.CharField(required=False, max_length=300)


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class ReassignForm(forms.Form):
    owner = PersonChoiceField(
        queryset=get_user_model().objects.none(), required=False, empty_label="Nobody (unassign)"
    )

    def __init__(self, *args, team: Team | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if team is not None:
            self.fields["owner"].queryset = (
                get_user_model().objects.filter(memberships__team=team).order_by("username")
            )


class NoteForm(forms.Form):
    note = forms.CharField(
        required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class DisputeForm(forms.Form):
    reason = forms.CharField(max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(choices=Breach.Resolution.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment", max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )


class BreachFilterForm(forms.Form):
    side = forms.ChoiceField(choices=[("", "Both sides")] + list(Side.choices), required=False)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="All teams"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status")] + list(Breach.Status.choices), required=False
    )

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams
