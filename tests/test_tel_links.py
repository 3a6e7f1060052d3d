"""Phone numbers become tap-to-call links a phone understands (RFC 3966 `tel:` URIs)."""

import pytest

from leads.templatetags.sla import tel


@pytest.mark.parametrize(
    "number, uri",
    [
        ("+49 (30) 123-4567", "tel:+49301234567"),
        ("0049 30 1234567", "tel:+49301234567"),
        ("030 1234.567", "tel:0301234567"),
        ("+1 415 555 0100 ext. 12", "tel:+14155550100;ext=12"),
        ("+44 20 7946 0958 x7", "tel:+442079460958;ext=7"),
        ("call reception", ""),
        ("", ""),
    ],
)
def test_a_phone_number_becomes_a_tel_uri(number, uri):
    assert tel(number) == uri
