"""Input shapes shared by the API, the inbound webhooks and the CSV import: one place
that turns outside values (JSON or CSV strings) into typed lead and activity fields."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from agreements.models import Side, Team
from leads.models import Activity, Lead, Stage
from slahub.limits import TEXT_MAX


class BatchedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id looked up first among the objects read once for a whole batch
    (`context["known"][field name]`, see `LeadUpsertSerializer.known_objects`), so that
    validating many items costs one query per field, not one per item."""

    def to_internal_value(self, data):
        known = self.context.get("known", {}).get(self.field_name)
        key = _pk(data)
        if known is not None and key in known:
            if known[key] is None:
                self.fail("does_not_exist", pk_value=data)
            return known[key]
        return super().to_internal_value(data)


def _pk(value) -> int | None:
    """An id as the batch reads it (an int, or a string of digits); None otherwise (left to
    the field's own lookup and its messages)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 0 < value < 2**63:
        return value
    return None


class LeadDataSerializer(serializers.Serializer):
    """A lead's descriptive fields and its owner, each optional: the part every lead write
    shares (`leads.services.LEAD_DATA_FIELDS` and the owner)."""

    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    tier = serializers.CharField(max_length=20, required=False, allow_blank=True)
    score = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)
    lead_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    campaign = serializers.CharField(max_length=200, required=False, allow_blank=True)
    owner = BatchedPrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, allow_null=True
    )


class LeadUpsertSerializer(LeadDataSerializer):
    """A lead keyed by (source_system, external_id). Only the fields sent are applied."""

    source_system = serializers.CharField(max_length=50, required=False, default="api")
    external_id = serializers.CharField(max_length=100)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    rejection_reason = serializers.CharField(max_length=150, required=False, allow_blank=True)
    owner_email = serializers.EmailField(
        required=False,
        write_only=True,
        help_text="Alternative to `owner`: the email of a member of the lead's sales team.",
    )
    owner_name = serializers.CharField(
        max_length=150,
        required=False,
        write_only=True,
        help_text="Alternative to `owner` (after `owner_email`): the full name of a member of "
        "the lead's sales team, as a CRM export's owner column holds it (case and spaces do "
        "not matter; an unknown or shared name is refused).",
    )
    sales_team = BatchedPrimaryKeyRelatedField(
        queryset=Team.objects.filter(side=Side.SALES), required=False, allow_null=True
    )
    marketing_team = BatchedPrimaryKeyRelatedField(
        queryset=Team.objects.filter(side=Side.MARKETING), required=False, allow_null=True
    )
    handed_off_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When marketing handed the lead to sales."
    )

    @classmethod
    def known_objects(cls, raw_items: list[dict]) -> dict[str, dict[int, Any]]:
        """The owners and teams these raw items name, one query per field (None for an id
        that does not exist or is not allowed): pass as `context["known"]`."""
        fields = cls().fields
        known: dict[str, dict[int, Any]] = {}
        for name in ("owner", "sales_team", "marketing_team"):
            ids = {_pk(item.get(name)) for item in raw_items if isinstance(item, dict)}
            ids.discard(None)
            if not ids:
                continue
            found = {obj.pk: obj for obj in fields[name].get_queryset().filter(pk__in=ids)}
            known[name] = {pk: found.get(pk) for pk in ids}
        return known

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("owner_email"):
            attrs.pop("owner_email", None)  # else resolved in the lead's sales team by the upsert
        if not (attrs.get("owner_name") or "").strip() or attrs.get("owner_email"):
            attrs.pop("owner_name", None)  # an email names the owner first
        if attrs.get("stage") == Stage.REJECTED and not attrs.get("rejection_reason"):
            raise serializers.ValidationError(
                {"rejection_reason": "Give the reason for rejecting the lead."}
            )
        if attrs.get("handed_off_at") is None:
            attrs.pop("handed_off_at", None)
        return attrs


def validate_upserts(raw_items: list[dict], *, context: dict | None = None) -> list[dict]:
    """Each raw item as {"data": validated fields} or {"errors": the serializer's errors},
    in order, as `LeadUpsertSerializer(data=item).is_valid()` answers it. One serializer
    (DRF copies its fields per instance) and the owners and teams named read once."""
    context = {**(context or {}), "known": LeadUpsertSerializer.known_objects(raw_items)}
    serializer = LeadUpsertSerializer(context=context)
    items = []
    for raw in raw_items:
        try:
            items.append({"data": serializer.run_validation(raw)})
        except serializers.ValidationError as exc:
            items.append({"errors": exc.detail})
    return items


class ActivityInSerializer(serializers.Serializer):
    """A touch on a lead, named by its id or by its (source_system, external_id)."""

    lead = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.all(), required=False)
    lead_source_system = serializers.CharField(max_length=50, required=False, default="api")
    lead_external_id = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=Activity.Kind.choices)
    outcome = serializers.ChoiceField(
        choices=Activity.Outcome.choices, required=False, default=Activity.Outcome.ATTEMPTED
    )
    occurred_at = serializers.DateTimeField()
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="Who made the touch (default: the caller).",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)
    source_system = serializers.CharField(max_length=50, required=False, allow_blank=True)
    external_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="The touch's id in the source system; a touch sent again is not logged twice.",
    )

    def __init__(self, *args, leads=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if leads is not None:
            self.fields["lead"].queryset = leads
        self._leads = leads if leads is not None else Lead.objects.all()

    def validate(self, attrs: dict) -> dict:
        if "lead" not in attrs:
            external_id = attrs.get("lead_external_id")
            if not external_id:
                raise serializers.ValidationError(
                    {"lead": "Name the lead: its id, or lead_source_system and lead_external_id."}
                )
            lead = self._leads.filter(
                source_system=attrs.get("lead_source_system") or "api", external_id=external_id
            ).first()
            if lead is None:
                raise serializers.ValidationError(
                    {"lead_external_id": "No lead with this key is visible to you."}
                )
            attrs["lead"] = lead
        attrs.pop("lead_source_system", None)
        attrs.pop("lead_external_id", None)
        return attrs
