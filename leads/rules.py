"""Who may act on a lead: thin re-exports of `agreements.access`, the one place for every
interface (API, pages, admin, imports, inbound webhooks).

`memberships` (team id → role) may be passed by callers that already loaded them.
"""

from __future__ import annotations

from agreements.access import can_edit_lead, can_manage_lead, can_work_lead, memberships_of

__all__ = ["can_edit_lead", "can_manage_lead", "can_work_lead", "memberships_of"]
