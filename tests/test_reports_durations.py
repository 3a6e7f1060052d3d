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


@pytest.mark.parametrize(
    "before, last, trend",
    [
        ((109, True), (101, True), "kept"),  # met both months: not "worse"
        ((95, True), (70, False), "down"),
        ((70, False), (85, True), "up"),
        ((60, False), (70, False), "up"),
        ((70, None), (70, None), "flat"),
    ],
)
def test_a_trend_is_judged_by_the_commitments_own_target_first(before, last, trend):
    from reports.scorecard import Score, ScoreLine

    line = ScoreLine(
        "marketing",
        "lead_volume",
        "…",
        [Score(before[0], ok=before[1]), Score(last[0], ok=last[1])],
    )
    assert line.trend == trend
