"""The audit log: who changed an agreement, a breach, a membership or an access right, and
when. Services call `audit.record(...)` once each, inside their own transaction."""


def record(action, obj, *, user=None, changes=None, teams=None):
    """Write one AuditEvent (see audit.services.record)."""
    from audit.services import record as _record

    return _record(action, obj, user=user, changes=changes, teams=teams)
