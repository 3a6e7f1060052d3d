"""Forms of the lead and breach pages. They check input; the services hold the rules."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from agreements.models import RejectionReason, Side, Team
from agreements.wording import commitment_sentence
from leads.models import Activity, Breach, RejectionContest, Stage
from leads.selectors import SLA_STATES
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


# The lead list -------------------------------------------------------------------------


LEAD_SORT_CHOICES = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("company", "Company A–Z"),
    ("stage", "Stage"),
    ("-handed_off", "Handed off, latest first"),
    ("handed_off", "Handed off, earliest first"),
    ("next_due", "Next clock due first"),
]


class LeadFilterForm(forms.Form):
    """The list's search, filters and sort, all in the URL (a saved filter is a link)."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Name, company or email (a part of it), or the external id.",
    )
    stage = forms.ChoiceField(choices=[("", "Any stage")] + list(Stage.choices), required=False)
    owner = forms.ChoiceField(required=False)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="Any team"
    )
    tier = forms.CharField(required=False, max_length=20)
    source = forms.CharField(label="Lead source", required=False, max_length=100)
    campaign = forms.CharField(required=False, max_length=200)
    state = forms.ChoiceField(
        label="SLA state", choices=[("", "Any SLA state")] + SLA_STATES, required=False
    )
    sort = forms.ChoiceField(choices=LEAD_SORT_CHOICES, required=False)

    def __init__(self, *args, teams=None, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams
        self.fields["owner"].choices = [("", "Anyone"), ("none", "Unassigned")] + [
            (str(u.pk), u.get_full_name() or u.get_username()) for u in people
        ]

    def filters(self) -> dict:
        """The valid fields' values (an invalid one is shown with its error, not applied)."""
        self.is_valid()
        data = dict(self.cleaned_data)
        if data.get("owner") not in (None, "", "none"):
            data["owner"] = int(data["owner"])
        return data


BULK_LIMIT = 100  # a page holds 25; a hand-off is real work per lead


class BulkForm(forms.Form):
    """The leads ticked on the list and what to do with them."""

    ACTIONS = [("assign", "Assign to…"), ("hand_off", "Hand off to sales")]
    action = forms.ChoiceField(choices=ACTIONS)
    leads = forms.TypedMultipleChoiceField(
        coerce=int,
        choices=(),
        error_messages={
            "required": "Tick at least one lead.",
        },
    )
    owner = forms.ChoiceField(label="New owner", required=False)

    def __init__(self, *args, people=(), **kwargs):
        kwargs.setdefault("auto_id", "bulk_%s")  # the filter form above has an owner too
        super().__init__(*args, **kwargs)
        self.people = {u.pk: u for u in people}
        self.fields["owner"].choices = [("", "Choose…"), ("none", "Nobody (unassign)")] + [
            (str(u.pk), u.get_full_name() or u.get_username()) for u in people
        ]
        # Any id is accepted here: the service checks each lead against the user's rights.
        self.fields["leads"].valid_value = lambda value: str(value).isdigit()

    def clean_leads(self) -> list[int]:
        leads = self.cleaned_data["leads"]
        if len(leads) > BULK_LIMIT:
            raise forms.ValidationError(f"Tick at most {BULK_LIMIT} leads at a time.")
        return leads

    def clean(self):
        data = super().clean()
        if data.get("action") == "assign":
            if not data.get("owner"):
                self.add_error("owner", "Choose who gets the leads (or Nobody).")
            else:
                data["owner"] = (
                    None if data["owner"] == "none" else self.people.get(int(data["owner"]))
                )
        return data


class LeadForm(forms.Form):
    """A new lead; its rules (routing, owner, hand-off) are the services'."""

    name = forms.CharField(max_length=200)
    company = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(required=False)
    title = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(max_length=50, required=False)
    country = forms.CharField(
        max_length=2, required=False, help_text="Two-letter ISO code, e.g. DE."
    )
    tier = forms.CharField(max_length=20, required=False)
    score = forms.IntegerField(required=False, initial=0)
    lead_source = forms.CharField(label="Lead source", max_length=100, required=False)
    campaign = forms.CharField(max_length=200, required=False)
    external_id = forms.CharField(
        label="External id",
        max_length=100,
        required=False,
        help_text="The record's id in your CRM; leave empty to have one made up.",
    )
    sales_team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    marketing_team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    owner = PersonChoiceField(
        queryset=get_user_model().objects.none(), required=False, empty_label="Nobody yet"
    )
    hand_off = forms.BooleanField(
        label="Hand off to sales now",
        required=False,
        help_text="Starts the agreement's clocks from this moment.",
    )

    def __init__(self, *args, teams=None, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["sales_team"].queryset = teams.filter(side=Side.SALES)
            self.fields["marketing_team"].queryset = teams.filter(side=Side.MARKETING)
        if people is not None:
            self.fields["owner"].queryset = people

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()

    def clean_score(self) -> int:
        return self.cleaned_data["score"] or 0
