"""Writes for connectors: saving a connector's settings and credentials, and asking for a
sync. The credentials are sealed (connectors.crypto) and never put in the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

import audit
from agreements import access
from agreements.errors import ValidationError
from agreements.models import Team
from connectors import crypto
from connectors.models import Connector
from leads.models import Stage

SECRET_FIELDS = {
    Connector.Kind.HUBSPOT: ["token"],
    Connector.Kind.SALESFORCE: ["client_secret", "refresh_token", "private_key"],
}
SETTING_FIELDS = ["instance_url", "login_url", "auth", "client_id", "username"]


def parse_stage_map(text: str) -> dict[str, str]:
    """'crm value = stage' lines (one a line, # comments) as a dict; unknown stages refused."""
    table, errors = {}, []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        crm, sep, stage = line.partition("=")
        crm, stage = crm.strip(), stage.strip().lower()
        if not sep or not crm or not stage:
            errors.append(f"Line {number}: write it as “CRM stage = SLA Hub stage”.")
        elif stage not in Stage.values:
            errors.append(f"Line {number}: “{stage}” is not a stage ({', '.join(Stage.values)}).")
        else:
            table[crm] = stage
    if errors:
        raise ValidationError({"stage_map": errors})
    return table


def format_stage_map(table: dict[str, str]) -> str:
    return "\n".join(f"{crm} = {stage}" for crm, stage in table.items())


@transaction.atomic
def connector_save(
    *,
    user,
    kind: str,
    sales_team: Team,
    marketing_team: Team | None,
    run_as,
    enabled: bool,
    stage_map: dict[str, str],
    writeback: dict[str, str],
    settings: dict[str, str],
    secrets: dict[str, str],
    now: datetime,
) -> Connector:
    """Create or change the connector of `kind`. A secret left blank keeps the stored one."""
    connector = Connector.objects.select_for_update().filter(kind=kind).first()
    if connector is not None:
        access.require(
            access.can_configure_connector(user, connector),
            "Only staff and the managers of its teams change this connector.",
        )
    probe = Connector(kind=kind, sales_team=sales_team, marketing_team=marketing_team)
    access.require(
        access.can_configure_connector(user, probe),
        "Choose a team you manage.",
    )
    if not access.member_of_team(sales_team, run_as):
        raise ValidationError({"run_as": "The integration user must be in the sales team."})
    stored = crypto.unseal(connector.credentials) if connector else {}
    merged = {k: v for k, v in stored.items() if k in SECRET_FIELDS[kind]}
    merged |= {k: v.strip() for k, v in secrets.items() if k in SECRET_FIELDS[kind] and v}
    values: dict[str, Any] = {k: v for k, v in settings.items() if k in SETTING_FIELDS and v}
    values |= {"stage_map": stage_map, "writeback": {k: v for k, v in writeback.items() if v}}
    if connector is not None and connector.settings.get("api_base"):
        values["api_base"] = connector.settings["api_base"]
    if connector is None:
        connector = Connector(kind=kind, created_at=now)
    before = _public(connector) if connector.pk else {}
    connector.sales_team, connector.marketing_team = sales_team, marketing_team
    connector.run_as, connector.enabled, connector.settings = run_as, enabled, values
    connector.credentials = crypto.seal(merged) if merged else ""
    connector.full_clean()
    connector.save()
    after = _public(connector)
    changes = {k: v for k, v in after.items() if before.get(k) != v}
    changed_secrets = sorted(k for k in merged if stored.get(k) != merged[k])
    if changed_secrets:
        changes["credentials"] = f"replaced: {', '.join(changed_secrets)}"  # names, not values
    audit.record("connector.save", connector, user=user, changes=changes)
    return connector


def _public(connector: Connector) -> dict[str, Any]:
    return {
        "sales_team": connector.sales_team_id,
        "marketing_team": connector.marketing_team_id,
        "run_as": connector.run_as_id,
        "enabled": connector.enabled,
        "settings": connector.settings,
    }


def stored_secret_names(connector: Connector | None) -> list[str]:
    """Which credentials are stored (never their values), for the page."""
    return sorted(crypto.unseal(connector.credentials)) if connector else []
