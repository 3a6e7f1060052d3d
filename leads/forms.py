"""Forms of the lead and breach pages. They check input; the services hold the rules."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from agreements.models import RejectionReason, Side, Team
from agreements.wording import commitment_sentence
from leads.models import Activity, Breach, RejectionContest, Stage
from slahub.limits import text_field


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=Activity.Kind.choices, initial=Activity.Kind.CALL)
    outcome = forms.ChoiceField(
        choices=Activity.Outcome.choices,
        initial=Activity.Outcome.ATTEMPTED,
        help_text="Connected means you reached the person: the cadence stops.",
    )
    note = text_field(required=False)


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
    note = text_field(required=False)


class DisputeForm(forms.Form):
    reason = text_field()


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(choices=Breach.Resolution.choices, widget=forms.RadioSelect)
    note = text_field(required=False)


class CommentForm(forms.Form):
    body = text_field(label="Comment", widget=forms.Textarea(attrs={"rows": 3}))


class BreachFilterForm(forms.Form):
    """The breach inbox's filters; `promises` are (clause, commitment) pairs, `reps` the
    people breaches may be attributed to."""

    side = forms.ChoiceField(choices=[("", "Both sides")] + list(Side.choices), required=False)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="All teams"
    )
    rep = PersonChoiceField(queryset=get_user_model().objects.none(), required=False, label="Rep")
    promise = forms.ChoiceField(choices=[("", "Every promise")], required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status")] + list(Breach.Status.choices), required=False
    )
    due_from = forms.DateField(
        required=False, label="Due from", widget=forms.DateInput(attrs={"type": "date"})
    )
    due_to = forms.DateField(
        required=False, label="Due to", widget=forms.DateInput(attrs={"type": "date"})
    )
    mine = forms.BooleanField(required=False, label="Only mine")

    def __init__(self, *args, teams=None, reps=None, promises=(), **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams
        if reps is not None:
            self.fields["rep"].queryset = reps
        self.fields["promise"].choices = [("", "Every promise")] + [
            (clause, f"{c.get_kind_display()}: {commitment_sentence(c)}") for clause, c in promises
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("due_from"), data.get("due_to")
        if start and end and end < start:
            self.add_error("due_to", "The last day must not be before the first.")
        return data


class BulkAcknowledgeForm(forms.Form):
    breaches = forms.TypedMultipleChoiceField(
        coerce=int,
        error_messages={"required": "Choose the breaches to acknowledge."},
    )
    note = text_field(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id: the service says which of them the user may not acknowledge.
        self.fields["breaches"].valid_value = lambda value: str(value).isdigit()


class ContestForm(forms.Form):
    reason = text_field(
        label="Why the rejection is wrong", widget=forms.Textarea(attrs={"rows": 3})
    )


class ContestDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=RejectionContest.Decision.choices, widget=forms.RadioSelect
    )
    note = text_field(required=False)
