"""One rule of who may act on a lead, whichever interface asks."""

from leads import rules
from tests.factories import make_lead


def test_who_may_do_what_with_a_lead(org, now, django_user_model):
    lead = make_lead(org, now=now)
    staff = django_user_model.objects.create_user("ops", is_staff=True)
    stranger = django_user_model.objects.create_user("stranger")
    table = {
        user.username: (
            rules.can_work_lead(user, lead),
            rules.can_manage_lead(user, lead),
            rules.can_edit_lead(user, lead),
        )
        for user in (org.rep, org.sales_manager, org.marketer, staff, stranger)
    }
    assert table == {
        "rep": (True, False, True),
        "sales_manager": (True, True, True),
        "marketer": (False, False, True),
        "ops": (True, True, True),
        "stranger": (False, False, False),
    }


def test_a_rep_cannot_reassign_through_the_api(org, now):
    from rest_framework.test import APIClient

    lead = make_lead(org, now=now)
    client = APIClient()
    client.force_authenticate(org.rep)
    answer = client.patch(f"/api/v1/leads/{lead.pk}/", {"owner": org.rep2.pk}, format="json")
    assert answer.status_code == 403
    lead.refresh_from_db()
    assert lead.owner == org.rep
