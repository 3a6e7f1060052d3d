"""REST API for webhook subscriptions (outbound), signed inbound events and CSV imports."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

import audit
from agreements import access
from agreements.models import Side, Team
from integrations import csv_mapping, services, signing
from integrations.models import (
    Import,
    ImportRow,
    WebhookDelivery,
    WebhookEvent,
    WebhookSource,
    WebhookSubscription,
)
from integrations.serializers import ActivityInSerializer, LeadUpsertSerializer
from slahub.api_defaults import LimitedJSONParser, LimitedMultiPartParser, loads_checked
from slahub.api_errors import RequestTooLarge, json_body_limit, upload_limit

# Webhook subscriptions ------------------------------------------------------------------


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.MultipleChoiceField(choices=WebhookEvent.choices)
    url = serializers.URLField(max_length=500, help_text="An http(s) URL that receives POSTs.")

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "url",
            "events",
            "is_active",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]

    def validate_url(self, value: str) -> str:
        from integrations import egress

        try:
            egress.validate_url(value)
        except egress.Refused as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate_events(self, value) -> list[str]:
        if not value:
            raise serializers.ValidationError("Choose at least one event.")
        return sorted(value)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["events"] = sorted(data["events"])
        return data


class WebhookCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret; shown only in this answer."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "payload",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="Your outbound webhook subscriptions"),
    retrieve=extend_schema(summary="A subscription"),
    partial_update=extend_schema(
        summary="Change a subscription; is_active=true re-enables a disabled one"
    ),
    destroy=extend_schema(summary="Delete a subscription and its delivery log"),
)
class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookSubscriptionSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return WebhookSubscription.objects.none()
        subscriptions = WebhookSubscription.objects.order_by("-created_at", "-id")
        if self.request.user.is_staff:
            return subscriptions
        return subscriptions.filter(owner=self.request.user)

    @extend_schema(
        summary="Subscribe a URL to events",
        description="Each delivery is a JSON POST signed like inbound events: header "
        "X-SLAHub-Signature = sha256=HMAC-SHA256(secret, timestamp + '.' + body), with "
        "X-SLAHub-Timestamp. Failed deliveries are retried with exponential backoff; after "
        "repeated failures in a row the subscription is disabled. Only http(s) URLs to "
        "public addresses are accepted (unless SLAHUB_WEBHOOK_ALLOW_HOSTS allows one); "
        "redirects are not followed.",
        request=WebhookSubscriptionSerializer,
        responses={201: WebhookCreatedSerializer},
    )
    def create(self, request):
        serializer = WebhookSubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription, secret = services.webhook_subscription_create(
            owner=request.user, url=data["url"], events=data["events"], name=data.get("name", "")
        )
        subscription.secret = secret
        return Response(WebhookCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = services.webhook_subscription_update(
            subscription=serializer.instance, data=serializer.validated_data
        )

    @transaction.atomic
    def perform_destroy(self, instance):
        audit.record("webhook.delete", instance, changes={"url": instance.url})
        instance.delete()

    @extend_schema(
        summary="The subscription's delivery log, newest first",
        responses=WebhookDeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        page = self.paginate_queryset(subscription.deliveries.order_by("-created_at", "-id"))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


# Inbound webhooks -----------------------------------------------------------------------


class SignatureRefused(APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "The request is not signed by this source."
    default_code = "bad_signature"


class InboundEventSerializer(serializers.Serializer):
    id = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="The sender's event id."
    )
    type = serializers.ChoiceField(choices=["lead.upsert", "activity.created"])
    data = serializers.DictField(help_text="A LeadUpsert, or an ActivityIn.")


class InboundResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "duplicate"])
    lead = serializers.IntegerField(allow_null=True)
    activity = serializers.IntegerField(allow_null=True)


class InboundWebhookView(APIView):
    """Signed lead and activity events from a configured source (no user login)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Receive a signed lead or activity event from a configured source",
        description="Sign with HMAC-SHA256 over `<timestamp>.<raw body>` using the source's "
        "secret; send `X-SLAHub-Timestamp` (Unix seconds) and `X-SLAHub-Signature: "
        "sha256=<hex>`. Requests older than 5 minutes, or sent again, are not applied.",
        request=InboundEventSerializer,
        responses={200: InboundResultSerializer, 201: InboundResultSerializer},
        auth=[],
    )
    def post(self, request, slug: str):
        source = get_object_or_404(WebhookSource, slug=slug, is_active=True)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > json_body_limit():
            raise RequestTooLarge()
        now = timezone.now()
        try:
            digest = signing.verify(
                secret=source.secret,
                timestamp=request.headers.get(signing.TIMESTAMP_HEADER),
                signature=request.headers.get(signing.SIGNATURE_HEADER),
                body=request.body,
                now=now,
                tolerance=getattr(settings, "WEBHOOK_INBOUND_TOLERANCE_SECONDS", 300),
            )
        except signing.SignatureError as exc:
            raise SignatureRefused(exc.message, code=exc.code) from None
        try:
            payload = loads_checked(request.body)
        except ParseError as exc:
            raise serializers.ValidationError(f"The body is not valid JSON: {exc.detail}") from None
        envelope = InboundEventSerializer(data=payload)
        envelope.is_valid(raise_exception=True)
        event = envelope.validated_data
        data = {**event["data"]}
        if event["type"] == "lead.upsert":
            data["source_system"] = source.source_system
            item = LeadUpsertSerializer(data=data)
        else:
            data.setdefault("lead_source_system", source.source_system)
            data.setdefault("source_system", source.source_system)
            item = ActivityInSerializer(data=data)
        if not item.is_valid():
            raise serializers.ValidationError({"data": item.errors})
        with transaction.atomic():
            recorded = services.inbound_event_record(
                source=source,
                signature=digest,
                event_id=event.get("id", ""),
                event_type=event["type"],
                now=now,
            )
            if recorded is None:
                body = {"status": "duplicate", "lead": None, "activity": None}
                return Response(InboundResultSerializer(body).data)
            if event["type"] == "lead.upsert":
                result, lead = services.lead_upsert(
                    data=item.validated_data, now=now, user=source.run_as
                )
                body = {"status": result, "lead": lead.pk, "activity": None}
            else:
                values = item.validated_data
                result, activity = services.activity_upsert(
                    lead=values["lead"], data=values, now=now, user=source.run_as
                )
                body = {"status": result, "lead": activity.lead_id, "activity": activity.pk}
            recorded.result = body
            recorded.save(update_fields=["result"])
        code = status.HTTP_201_CREATED if body["status"] == "created" else status.HTTP_200_OK
        return Response(InboundResultSerializer(body).data, status=code)


# CSV imports ----------------------------------------------------------------------------


MAPPING_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    },
    "description": 'Lead field → CSV column or list of columns, e.g. {"external_id": "Id", '
    '"name": ["First", "Last"]}. Extends or overrides the preset.',
}


@extend_schema_field(MAPPING_SCHEMA)
class MappingField(serializers.JSONField):
    """Lead field → CSV column (or columns); in a multipart upload, the object as JSON text."""


class ImportInSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="The CSV file (UTF-8).")
    content = serializers.CharField(
        required=False, trim_whitespace=False, help_text="The CSV text, instead of a file."
    )
    preset = serializers.ChoiceField(choices=Import.Preset.choices)
    mapping = MappingField(required=False)
    source_system = serializers.CharField(
        max_length=50, required=False, allow_blank=True, help_text="Default: the preset name."
    )
    sales_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.filter(side=Side.SALES), required=False, allow_null=True
    )
    marketing_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.filter(side=Side.MARKETING), required=False, allow_null=True
    )
    backfill_reason = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        help_text="Staff only: why rows with times further back than the backfill window "
        "(SLAHUB_BACKFILL_DAYS) are imported, e.g. onboarding last quarter's leads; kept with "
        "each such event.",
    )

    def validate(self, attrs: dict) -> dict:
        upload = attrs.pop("file", None)
        if upload is not None:
            if upload.size > upload_limit():
                raise RequestTooLarge()
            attrs["content"] = csv_mapping.decode(upload.read())
            attrs["filename"] = upload.name or ""
        if not attrs.get("content"):
            raise serializers.ValidationError({"file": "Upload a CSV file (or send content)."})
        if csv_mapping.is_binary(attrs["content"]):
            raise serializers.ValidationError({"file": "This is not a text CSV file."})
        mapping = attrs.get("mapping")
        if mapping is not None and not isinstance(mapping, dict):
            raise serializers.ValidationError({"mapping": "Send an object of field → column."})
        return attrs


class ImportUploadSerializer(ImportInSerializer):
    """The upload as the schema documents it: a multipart form with the file (validated as
    ImportIn, which also takes the CSV as JSON `content`; one content type per operation
    keeps generated clients simple)."""

    file = serializers.FileField(help_text="The CSV file (UTF-8).")
    content = None
    # A form field is text: leave a team out rather than send it empty.
    sales_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.filter(side=Side.SALES), required=False
    )
    marketing_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.filter(side=Side.MARKETING),
        required=False,
        help_text="Default: the uploader's marketing team, when they have exactly one.",
    )


class ImportSerializer(serializers.ModelSerializer):
    mapping = MappingField(read_only=True)

    class Meta:
        model = Import
        fields = [
            "id",
            "filename",
            "preset",
            "mapping",
            "source_system",
            "sales_team",
            "marketing_team",
            "status",
            "total_rows",
            "processed_rows",
            "created_count",
            "updated_count",
            "unchanged_count",
            "error_count",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportRowSerializer(serializers.ModelSerializer):
    columns = serializers.SerializerMethodField(
        help_text="For each field in `errors`, the CSV column(s) it was read from: the cell "
        "to fix is this column on line `number`."
    )

    class Meta:
        model = ImportRow
        fields = ["number", "result", "lead", "external_id", "errors", "columns"]
        read_only_fields = fields

    def get_columns(self, row: ImportRow) -> dict[str, str]:
        mapping = self.context.get("mapping") or {}
        return {field: csv_mapping.column_of(mapping, field) for field in row.errors or {}}


@extend_schema_view(
    list=extend_schema(summary="Your CSV imports"),
    retrieve=extend_schema(summary="An import with its progress and counts"),
)
class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ImportSerializer
    parser_classes = [LimitedMultiPartParser, LimitedJSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Import.objects.none()
        return access.imports_visible_to(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        summary="Upload a CSV of leads; it is imported in the background",
        description="Presets: `salesforce` (Lead export), `hubspot` (contacts export), "
        "`custom` (give the whole mapping). Each row is upserted on its own, like a bulk "
        "item: bad rows are reported and never stop the good ones. Large files run in "
        "chunks; poll the import for progress (`processed_rows` of `total_rows`) and read "
        "`rows/` for the per-row report. A multipart form with the file; a JSON body with the "
        "CSV as `content` (a string) is taken too.",
        request={"multipart/form-data": ImportUploadSerializer},
        responses={202: ImportSerializer},
    )
    def create(self, request):
        serializer = ImportInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        record = services.import_create(
            user=request.user,
            content=data["content"],
            filename=data.get("filename", ""),
            preset=data["preset"],
            mapping=data.get("mapping") or {},
            source_system=data.get("source_system", ""),
            sales_team=data.get("sales_team"),
            marketing_team=data.get("marketing_team"),
            now=timezone.now(),
            backfill_reason=data.get("backfill_reason", ""),
        )
        from integrations.tasks import run_import
        from slahub.queueing import enqueue_after_commit

        # Recorded first; if the broker is down, the import sweeper starts it.
        enqueue_after_commit(run_import, record.pk)
        return Response(ImportSerializer(record).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The per-row report: created, updated, unchanged or error with messages",
        parameters=[
            OpenApiParameter(
                "result", str, enum=ImportRow.Result.values, description="Only these rows"
            )
        ],
        responses=ImportRowSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def rows(self, request, pk=None):
        record = self.get_object()
        rows = record.rows.order_by("number")
        result = request.query_params.get("result")
        if result:
            if result not in ImportRow.Result.values:
                raise serializers.ValidationError(
                    {"result": f"Choose from {ImportRow.Result.values}."}
                )
            rows = rows.filter(result=result)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            ImportRowSerializer(page, many=True, context={"mapping": record.mapping}).data
        )
