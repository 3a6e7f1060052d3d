"""The review pack reads its clock counts and dispositions once and gives them to both its
scorecard and its trend: its scorecard is the scorecard page's, month by month, and no day
outside the scorecard's three months reaches it."""

from datetime import date

import pytest
import time_machine

from reports import metrics
from reports.review_pack import review_pack
from reports.scorecard import scorecard
from reports.selectors import local_midnight
from tests.test_reports_data import NOW, build_november


@pytest.fixture
def nov(org):
    return build_november(org)


def _scores(card) -> dict[tuple[str, str, bool], list[tuple]]:
    return {
        (line.side, line.kind, line.total): [(s.value, s.detail, s.ok) for s in line.scores]
        for line in card.lines
    }


@pytest.mark.parametrize("month", [date(2026, 10, 1), date(2026, 11, 1)])
def test_the_packs_scorecard_is_the_scorecard_of_its_months(nov, month):
    agreement = nov.org.agreement
    with time_machine.travel(NOW, tick=False):
        pack = review_pack(agreement, month=month, now=NOW)
        alone = scorecard(
            agreement, now=NOW, count=3, at=local_midnight(month, metrics.agreement_tz(agreement))
        )
    assert [p.start for p in pack.card.periods] == [p.start for p in alone.periods]
    assert _scores(pack.card) == _scores(alone)


def test_the_month_before_the_scorecard_stays_out_of_it(nov):
    """December's pack: its trend runs July–December; its scorecard October–December.
    October is L0 alone (touched after 10 minutes, accepted). November (the story in
    tests/test_reports_data.py): six first-touch clocks, L2's, L3's first and L5's breached,
    so 3 of 6 on time; five dispositions, two of them acceptances."""
    agreement = nov.org.agreement
    with time_machine.travel(NOW, tick=False):
        pack = review_pack(agreement, month=date(2026, 12, 1), now=NOW)
    assert [p.start.date() for p in pack.card.periods] == [
        date(2026, 10, 1),
        date(2026, 11, 1),
        date(2026, 12, 1),
    ]
    lines = {(line.kind, line.total): line.scores for line in pack.card.lines}
    first_touch = [(s.value, s.detail) for s in lines[("first_touch", False)]]
    assert first_touch == [(100.0, "1 of 1 on time"), (50.0, "3 of 6 on time"), (None, "")]
    quality = [(s.value, s.detail) for s in lines[("lead_quality", False)]]
    assert quality == [(100.0, "1 of 1 accepted"), (40.0, "2 of 5 accepted"), (None, "")]
    # The trend's months are the whole six, the scorecard's figures among them.
    trend = {row[0].value: (row[1].value, row[2].value, row[7].value) for row in pack.trend.rows}
    assert list(trend) == [date(2026, m, 1) for m in range(7, 13)]
    assert trend[date(2026, 10, 1)] == (100.0, 1, 100.0)
    assert trend[date(2026, 11, 1)] == (50.0, 6, 40.0)
