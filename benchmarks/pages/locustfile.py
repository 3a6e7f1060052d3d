"""One page, BENCH_PAGE_PATH, requested back to back by each locust user; each user is one
logged-in session (BENCH_PAGE_COOKIES, comma-separated session keys, one per user)."""

import itertools
import os

from locust import FastHttpUser, constant, task

_cookies = itertools.cycle(os.environ["BENCH_PAGE_COOKIES"].split(","))


class PageUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.headers = {"Cookie": f"sessionid={next(_cookies)}"}

    @task
    def page(self) -> None:
        path = os.environ["BENCH_PAGE_PATH"]
        with self.client.get(
            path, headers=self.headers, name=path, catch_response=True, allow_redirects=False
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
