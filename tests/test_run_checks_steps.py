"""`run_checks` runs every step even when one fails, and says which failed."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from reports import refresh


def test_a_failing_step_does_not_stop_the_others(db, monkeypatch):
    def broken(*, now):
        raise RuntimeError("rollups are broken")

    monkeypatch.setattr(refresh, "refresh", broken)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="steps failed: rollups"):
        call_command("run_checks", stdout=out, stderr=err)
    steps = [line.split(":")[0] for line in out.getvalue().splitlines()]
    assert steps[0] == "deadline scan"
    assert {"webhook sweep", "import sweep", "replay sweep", "escalation", "alert delivery"} <= set(
        steps
    )
    assert "rollups: failed: RuntimeError: rollups are broken" in err.getvalue()
