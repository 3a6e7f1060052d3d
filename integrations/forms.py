"""The imports page's upload form. It reads the file and the mapping; the import's rules
(mapping against the header, routing, rows) are integrations.services' and selectors'."""

from __future__ import annotations

from django import forms

from agreements.models import Side, Team
from integrations.csv_mapping import MAPPABLE_FIELDS
from integrations.models import Import
from slahub.api_defaults import upload_limit


def parse_mapping(text: str) -> dict[str, str | list[str]]:
    """`field: Column` lines (`name: First Name + Last Name` joins columns) → a mapping."""
    mapping: dict[str, str | list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        field, sep, columns = line.partition(":")
        if not sep or not field.strip() or not columns.strip():
            raise forms.ValidationError(
                f"Line {number}: write it as field: Column (e.g. external_id: Lead ID)."
            )
        parts = [c.strip() for c in columns.split("+") if c.strip()]
        mapping[field.strip()] = parts[0] if len(parts) == 1 else parts
    return mapping


class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, comma, semicolon or tab separated.")
    preset = forms.ChoiceField(
        label="Mapping",
        choices=Import.Preset.choices,
        initial=Import.Preset.SALESFORCE,
        widget=forms.RadioSelect,
    )
    mapping = forms.CharField(
        label="Columns (custom mapping, or changes to the preset)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line, field: Column; join columns with +, e.g. "
        "name: First Name + Last Name. Fields: " + ", ".join(MAPPABLE_FIELDS) + ".",
    )
    sales_team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label="None",
        help_text="The team that receives the leads (choose it or the marketing team).",
    )
    marketing_team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="None"
    )
    source_system = forms.CharField(
        label="Source system",
        max_length=50,
        required=False,
        help_text="Keys the leads with their external id; default: the mapping's name.",
    )

    def __init__(self, *args, teams=None, staff: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["sales_team"].queryset = teams.filter(side=Side.SALES)
            self.fields["marketing_team"].queryset = teams.filter(side=Side.MARKETING)
        if staff:
            self.fields["backfill_reason"] = forms.CharField(
                label="Backfill reason",
                max_length=300,
                required=False,
                help_text="Staff only: why rows further back than the backfill window are "
                "imported.",
            )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > upload_limit():
            raise forms.ValidationError(
                f"The file is larger than {upload_limit() // (1024 * 1024)} MB: split it."
            )
        try:
            content = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("Save the CSV as UTF-8 and upload it again.") from None
        if "\x00" in content:
            raise forms.ValidationError("This is not a text CSV file.")
        if not content.strip():
            raise forms.ValidationError("The file is empty.")
        self.content, self.filename = content, upload.name or ""
        return upload

    def clean_mapping(self) -> dict:
        return parse_mapping(self.cleaned_data["mapping"])
