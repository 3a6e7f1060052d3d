"""Commitments read as the sentences both managers signed."""

from types import SimpleNamespace

from agreements.wording import commitment_sentence, duration_words


def commitment(kind, **fields):
    defaults = dict(
        applies_to={},
        clock="business",
        within="",
        every="",
        attempts=None,
        target=None,
        stage="",
        period="",
        min_acceptance_pct=None,
        min_sample=10,
    )
    return SimpleNamespace(kind=kind, **{**defaults, **fields})


def test_durations_in_words():
    assert duration_words("PT15M", "business") == "15 business minutes"
    assert duration_words("P2D", "business") == "2 working days"
    assert duration_words("PT1H30M", "calendar") == "1 hour and 30 minutes"
    assert duration_words("P1DT4H", "calendar") == "1 day and 4 hours"


def test_first_touch_sentence():
    c = commitment("first_touch", within="PT15M", applies_to={"tier": ["A"]})
    assert commitment_sentence(c) == (
        "Sales will make a first touch on every Tier A lead within 15 business minutes of hand-off."
    )


def test_follow_up_and_volume_sentences():
    c = commitment("follow_up", attempts=6, every="P2D", applies_to={"tier": ["A", "B"]})
    assert commitment_sentence(c) == (
        "Sales will try every Tier A or B lead 6 times in all, each attempt within 2 working "
        "days of the previous one, until the lead is reached."
    )
    v = commitment("lead_volume", target=120, stage="sal", period="month")
    assert commitment_sentence(v) == "Marketing will deliver at least 120 SALs each month."
