"""The report filter's lists (agreements, teams, reps) are read once per user for a few
seconds when shared figures are on; what a user may choose is still checked every time."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

from reports.forms import ReportFilterForm


@pytest.fixture
def shared_lists(settings):
    settings.SLAHUB_SHARED_FIGURES_SECONDS = 10
    cache.clear()
    yield
    cache.clear()


def _options(form, name):
    return [(str(v), str(label)) for v, label in form.fields[name].widget.choices]


def test_the_lists_are_read_once_and_show_what_the_user_may_choose(
    org, shared_lists, django_assert_num_queries
):
    manager = org.sales_manager
    first = ReportFilterForm({}, user=manager)
    rendered = str(first["rep"])
    reps = _options(first, "rep")
    # The sales team's members, by username: rep, rep2 and the sales manager.
    assert [label for _, label in reps] == ["---------", "rep", "rep2", "sales_manager"]
    assert f'value="{org.rep.pk}"' in rendered
    with django_assert_num_queries(0):
        again = ReportFilterForm({}, user=manager)
        assert str(again["rep"]) == rendered
        agreements = _options(again, "agreement")
        assert agreements == [("", "---------"), (str(org.agreement.pk), str(org.agreement))]
        teams = {label for _, label in _options(again, "team")}
        assert teams == {"---------", str(org.sales), str(org.marketing)}


def test_a_rep_outside_the_users_agreements_is_refused_even_with_the_lists_cached(
    org, shared_lists
):
    ReportFilterForm({}, user=org.sales_manager).as_p()  # the lists are cached
    stranger = User.objects.create_user("stranger")
    form = ReportFilterForm({"rep": str(stranger.pk)}, user=org.sales_manager)
    assert not form.is_valid()
    assert "rep" in form.errors
    chosen = ReportFilterForm({"rep": str(org.rep2.pk)}, user=org.sales_manager)
    assert chosen.is_valid()
    assert f'<option value="{org.rep2.pk}" selected>' in str(chosen["rep"])
