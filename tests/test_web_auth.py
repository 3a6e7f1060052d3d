"""Login, logout, password reset; every page behind login; CSRF on forms; the 403 and 404
pages say what to do next."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

PAGES = [
    ("home", []),
    ("queue", []),
    ("team-home", []),
    ("marketing-home", []),
    ("lead-detail", [1]),
    ("breach-list", []),
    ("breach-detail", [1]),
    ("agreement-list", []),
    ("agreement-detail", [1]),
    ("settings", []),
    ("settings-calendars", []),
    ("settings-teams", []),
    ("settings-reasons", []),
    ("settings-notifications", []),
    ("settings-tokens", []),
]


@pytest.mark.parametrize("name, args", PAGES)
def test_every_page_is_behind_login(client, db, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_a_person_logs_in_and_out(client, org):
    page = client.get(reverse("login"))
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    wrong = client.post(reverse("login"), {"username": "rep", "password": "nope"})
    assert "didn't match" in wrong.content.decode()
    response = client.post(reverse("login"), {"username": "rep", "password": "pw"}, follow=True)
    assert response.redirect_chain == [("/", 302), (reverse("queue"), 302)]
    logout = client.post(reverse("logout"), follow=True)
    assert logout.redirect_chain[0] == (reverse("login"), 302)
    assert client.get(reverse("queue")).status_code == 302


def test_a_password_is_reset_by_email(client, org):
    response = client.post(reverse("password_reset"), {"email": "rep@example.com"}, follow=True)
    assert "Check your email" in response.content.decode()
    (message,) = mail.outbox
    assert message.subject == "Reset your SLA Hub password"
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", message.body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-much-longer-pass-9", "new_password2": "a-much-longer-pass-9"},
        follow=True,
    )
    assert "Your password is set" in done.content.decode()
    assert Client().login(username="rep", password="a-much-longer-pass-9")


def test_forms_need_the_csrf_token(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.rep)
    response = client.post(reverse("settings-tokens"), {"name": "no token"})
    assert response.status_code == 403


def test_the_403_page_says_why_and_where_to_go(client, org):
    client.force_login(org.marketer)
    response = client.get(reverse("team-home"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "You can't do that here" in html
    assert "The team page is for sales managers." in html
    assert f'href="{reverse("home")}"' in html


def test_the_404_page_offers_a_way_back(client, org):
    client.force_login(org.rep)
    response = client.get(reverse("breach-detail", args=[999999]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "We couldn't find that page" in html
    assert f'href="{reverse("breach-list")}"' in html


def test_the_nav_links_every_area_and_the_scorecard(client, org):
    client.force_login(org.rep)
    html = client.get(reverse("settings")).content.decode()
    for name in ("home", "breach-list", "agreement-list", "settings"):
        assert f'href="{reverse(name)}"' in html
    assert f'href="{reverse("reports:scorecard")}"' in html
    assert 'aria-current="page"' in html


PRODUCTION_HASHERS = [
    "slahub.security.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def test_passwords_are_hashed_with_argon2id_and_older_hashes_upgraded_at_login(settings, org):
    """Login costs ~0.1 s of CPU (Argon2id, 19 MiB, 2 passes) instead of ~1 s (PBKDF2 at a
    million iterations); a user stored with PBKDF2 still logs in, and is re-hashed."""
    from django.contrib.auth.hashers import make_password

    from slahub import settings as production

    assert production.PASSWORD_HASHERS[0] == "slahub.security.Argon2idHasher"
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    user = org.rep
    user.password = make_password("old-secret", hasher="pbkdf2_sha256")
    user.save()
    client = Client()
    response = client.post(
        reverse("login"), {"username": user.username, "password": "old-secret"}, follow=True
    )
    assert response.context["user"] == user
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert Client().login(username=user.username, password="old-secret")
