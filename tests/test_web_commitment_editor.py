"""The commitment editor: fields by kind, durations as a number and a unit, targeting,
order, edit in place, errors next to the field and the live sentence."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from agreements.businesstime import ClockDuration
from agreements.forms import duration_parts, duration_text
from agreements.matching import first_matches
from agreements.models import AgreementVersion
from agreements.services import agreement_version_draft
from tests.factories import activate, add_commitment

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def draft(org):
    """Version 1 in force (Tier A first touch in 15 minutes), version 2 drafted from it."""
    with time_machine.travel(NOW, tick=False):
        add_commitment(org.version, "first_touch", within="PT15M", applies_to={"tier": ["A"]})
        activate(org, now=datetime(2026, 11, 2, 9, 0, tzinfo=BERLIN))
        version = agreement_version_draft(agreement=org.agreement, summary="Faster")
        yield org, version


def _add_url(org, version):
    return reverse("commitment-add", args=[org.agreement.pk, version.number])


def _page(client, org) -> str:
    return client.get(reverse("agreement-detail", args=[org.agreement.pk])).content.decode()


@pytest.mark.parametrize(
    "text, parts",
    [
        ("PT4H", (4, "hours")),
        ("P2D", (2, "days")),
        ("PT90M", (90, "minutes")),
        ("PT15M", (15, "minutes")),
        ("P1DT4H", (None, "")),  # days and hours together have no single unit
    ],
)
def test_a_duration_reads_as_a_number_and_a_unit(text, parts):
    assert duration_parts(text) == parts
    if parts[0]:  # and back to the same length of time ("PT90M" is written "PT1H30M")
        assert ClockDuration.parse(duration_text(*parts)) == ClockDuration.parse(text)


def test_each_field_says_which_kinds_read_it(client, draft):
    org, _ = draft
    client.force_login(org.sales_manager)
    html = _page(client, org)
    add_form = html[html.index('id="id_new-kind"') - 400 :]

    def kinds_of(field: str) -> str:
        match = re.search(
            r'<div class="field" data-kinds="([^"]*)">\s*<label for="id_new-' + field, add_form
        )
        assert match, field
        return match.group(1)

    assert kinds_of("within") == "first_touch disposition"
    assert kinds_of("attempts") == "follow_up"
    assert kinds_of("min_gap") == "follow_up"
    assert kinds_of("target") == "lead_volume"
    assert kinds_of("min_acceptance_pct") == "lead_quality"
    assert kinds_of("tiers") == "first_touch follow_up disposition"
    assert kinds_of("clock") == "first_touch follow_up disposition"


def test_a_commitment_is_added_with_a_number_a_unit_and_its_targeting(client, draft):
    org, version = draft
    client.force_login(org.sales_manager)
    response = client.post(
        _add_url(org, version),
        {
            "new-kind": "first_touch",
            "new-within_0": "4",
            "new-within_1": "hours",
            "new-clock": "business",
            "new-warn_at_pct": "80",
            "new-tiers": "B, C",
            "new-sources": "Webinar",
            "new-countries": "DE",
            "new-campaigns": "Spring",
            "new-min_score": "50",
            "new-target": "99",  # a lead volume field: not read by a first touch
            "new-min_sample": "10",
        },
        follow=True,
    )
    assert (
        "Added: Sales will make a first touch on every Tier B or C lead from Webinar of "
        "campaign Spring in DE scoring 50 or more within 4 business hours of hand-off."
        in response.content.decode()
    )
    added = version.commitments.get(kind="first_touch", applies_to__tier=["B", "C"])
    assert (added.within, added.clock, added.warn_at_pct, added.target) == (
        "PT4H",
        "business",
        80,
        None,
    )
    assert added.applies_to == {
        "tier": ["B", "C"],
        "lead_source": ["Webinar"],
        "country": ["DE"],
        "campaign": ["Spring"],
        "min_score": 50,
    }
    assert added.order == 1  # checked after the Tier A promise copied from version 1


def test_a_missing_or_bad_term_is_marked_next_to_its_field(client, draft):
    org, version = draft
    client.force_login(org.sales_manager)
    response = client.post(
        _add_url(org, version),
        {"new-kind": "follow_up", "new-attempts": "3", "new-every_0": "0", "new-every_1": "days"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The commitment was not saved: see the fields marked below." in html
    every = html[html.index('<label for="id_new-every_0"') :]
    every = every[: every.index("</div>")]
    assert "Enter a number of 1 or more." in every
    response = client.post(
        _add_url(org, version), {"new-kind": "disposition", "new-clock": "business"}
    )
    html = response.content.decode()
    within = html[html.index('<label for="id_new-within_0"') :]
    assert "Required for a disposition commitment." in within[: within.index("</div>")]
    assert "<details open><summary>Add a commitment" in html  # the form stays open
    assert version.commitments.count() == 1


def test_a_draft_commitment_is_edited_in_place_and_keeps_its_clause(client, draft):
    org, version = draft
    copied = version.commitments.get()
    signed = org.version.commitments.get()
    client.force_login(org.sales_manager)
    page = _page(client, org)
    assert f'name="c{copied.pk}-within_0" value="15"' in page
    response = client.post(
        reverse("commitment-edit", args=[org.agreement.pk, version.number, copied.pk]),
        {
            f"c{copied.pk}-within_0": "30",
            f"c{copied.pk}-within_1": "minutes",
            f"c{copied.pk}-clock": "business",
            f"c{copied.pk}-tiers": "A",
            f"c{copied.pk}-warn_at_pct": "",
        },
        follow=True,
    )
    assert (
        "Changed: Sales will make a first touch on every Tier A lead within 30 business "
        "minutes of hand-off." in response.content.decode()
    )
    copied.refresh_from_db()
    assert (copied.within, copied.warn_at_pct, copied.clause) == ("PT30M", None, signed.clause)
    signed.refresh_from_db()
    assert signed.within == "PT15M"  # the signed version stays as signed


def test_the_order_decides_which_promise_a_lead_gets_and_can_be_changed(client, draft):
    org, version = draft
    every_lead = add_commitment(version, "first_touch", within="PT4H", order=1)
    client.force_login(org.sales_manager)
    lead = {"tier": "A"}
    assert first_matches(version.commitments.all(), lead)["first_touch"].within == "PT15M"
    page = _page(client, org)
    assert "(first touch 2 of 2: for each lead the first one that matches applies)" in page
    client.post(
        reverse("commitment-move", args=[org.agreement.pk, version.number, every_lead.pk]),
        {"direction": "up"},
    )
    assert list(version.commitments.values_list("within", "order")) == [("PT4H", 0), ("PT15M", 1)]
    assert first_matches(version.commitments.all(), lead)["first_touch"].within == "PT4H"


def test_the_sentence_is_previewed_from_the_form(client, draft):
    org, version = draft
    client.force_login(org.sales_manager)
    url = reverse("commitment-preview", args=[org.agreement.pk, version.number]) + "?prefix=new"
    response = client.post(
        url,
        {
            "new-kind": "follow_up",
            "new-attempts": "3",
            "new-every_0": "2",
            "new-every_1": "days",
            "new-clock": "business",
            "new-tiers": "<b>A</b>",
        },
    )
    assert response.content.decode() == (
        "Sales will try every Tier &lt;b&gt;A&lt;/b&gt; lead 3 times in all, each attempt "
        "within 2 working days of the previous one, until the lead is reached."
    )
    missing = client.post(url, {"new-kind": "lead_volume", "new-target": "40"})
    assert missing.content.decode() == "Fill in: leads reaching, each."


def test_only_a_manager_edits_moves_or_previews(client, draft):
    org, version = draft
    commitment = version.commitments.get()
    client.force_login(org.rep)
    args = [org.agreement.pk, version.number, commitment.pk]
    for name in ("commitment-edit", "commitment-move"):
        assert client.post(reverse(name, args=args), {}).status_code == 403
    preview = reverse("commitment-preview", args=args[:2])
    assert client.post(preview, {"new-kind": "first_touch"}).status_code == 403
    assert AgreementVersion.objects.get(pk=version.pk).commitments.get().within == "PT15M"


def test_a_targeted_commitment_is_checked_before_one_for_every_lead(client, draft):
    org, version = draft
    add_commitment(version, "first_touch", within="PT8H", order=1)  # every lead
    client.force_login(org.sales_manager)
    client.post(
        _add_url(org, version),
        {
            "new-kind": "first_touch",
            "new-within_0": "2",
            "new-within_1": "hours",
            "new-clock": "business",
            "new-tiers": "B",
        },
    )
    assert list(version.commitments.values_list("within", "order")) == [
        ("PT15M", 0),
        ("PT2H", 1),
        ("PT8H", 2),
    ]
    chosen = first_matches(version.commitments.all(), {"tier": "B"})["first_touch"]
    assert chosen.within == "PT2H"
    # Moved below the one for every lead, it could never apply: the page says so.
    targeted = version.commitments.get(within="PT2H")
    client.post(
        reverse("commitment-move", args=[org.agreement.pk, version.number, targeted.pk]),
        {"direction": "down"},
    )
    page = _page(client, org)
    assert page.count("Never applies: a first touch commitment above matches every lead.") == 1


def test_a_field_the_kind_does_not_read_is_neither_checked_nor_stored(client, draft):
    org, version = draft
    client.force_login(org.sales_manager)
    response = client.post(
        _add_url(org, version),
        {
            "new-kind": "disposition",
            "new-within_0": "1",
            "new-within_1": "days",
            "new-clock": "business",
            "new-min_sample": "0",  # a lead quality field, out of range: ignored here
            "new-attempts": "x",
        },
    )
    assert response.status_code == 302
    added = version.commitments.get(kind="disposition")
    assert (added.within, added.min_sample, added.attempts) == ("P1D", 10, None)
