"""Login to the first page, per role, with the production password hasher (the tests use a
fast one). The floor is the same first page for a session already logged in."""

from __future__ import annotations

from benchmarks.context import Context
from benchmarks.table import Row, median_seconds, seconds


def run(ctx: Context) -> list[Row]:
    from django.test import Client, override_settings

    from slahub import settings as production

    rows = []
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        for role in ("rep", "sales_manager", "marketing_manager"):
            user = getattr(ctx.org, role)
            user.set_password("bench-password")
            user.save(update_fields=["password"])

            def login(user=user):
                response = Client().post(
                    "/accounts/login/",
                    {"username": user.username, "password": "bench-password"},
                    follow=True,
                )
                assert response.status_code == 200 and response.redirect_chain, response

            logged_in = Client()
            logged_in.force_login(user)
            ours, floor = (
                median_seconds(login),
                median_seconds(lambda c=logged_in: c.get("/", follow=True)),
            )
            rows.append(
                Row(
                    f"login to first page ({role.replace('_', ' ')})",
                    seconds(ours),
                    ours,
                    "the same page, already logged in",
                    floor,
                    "< 1 s",
                )
            )
    return rows
