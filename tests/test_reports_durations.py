"""Durations in the report tables read in hours and minutes, not "954.3 min"."""

import pytest

from reports.tables import Minutes, text


@pytest.mark.parametrize(
    "minutes, reads",
    [
        (954.3, "15 h 54 min"),
        (45.0, "45 min"),
        (2.5, "2 min 30 s"),
        (0.4, "24 s"),
        (60.0, "1 h"),
        (1500.0, "1 d 1 h"),
        (2880.0, "2 d"),
    ],
)
def test_minutes_read_as_hours_and_minutes(minutes, reads):
    assert text(Minutes(minutes)) == reads
