"""The audit log: who changed an agreement, a breach, a membership or an access right, and
when. Services call `audit.record(...)` once each, inside their own transaction."""


def record(action, obj, *, user=None, changes=None, teams=None):
    """Write one AuditEvent (see audit.services.record)."""
    from audit.services import record as _record

    return _record(action, obj, user=user, changes=changes, teams=teams)


def record_many(action, objs, *, user, changes=None, teams):
    """Write one AuditEvent per object in a constant number of queries."""
    from audit.services import record_many as _record_many

    return _record_many(action, objs, user=user, changes=changes, teams=teams)
