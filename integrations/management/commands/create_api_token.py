"""Create an API token for a user and print its key (shown only this once)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USER and print the key once (only its hash is stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for.")

    def handle(self, *args, username: str, name: str, **options) -> None:
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        token, key = api_token_create(user=user, name=name)
        self.stderr.write(f"Token {token.name!r} ({token.prefix}…) for {user}; keep the key:")
        self.stdout.write(key)
