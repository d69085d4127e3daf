"""A realistic keyport traffic mix for locust (`make load-test URL=... USERS=... DURATION=...`).

Weights (per user, ~2-20 requests/s each depending on `KEYPORT_LOAD_WAIT`):
- keys of varied sizes: mostly small (16-64 bytes), some hex/base64, a few up to the server's max size;
- port look-ups by id (ids learnt from the first listing pages, plus ids that do not exist);
- listings: first pages, next pages by cursor, by country;
- a share of bad requests (bad lengths, unknown encodings, bad limits, unknown paths, wrong methods),
  each of which must get its documented 4xx: a bad request answered 5xx or 2xx counts as a failure.
- health/readiness/metrics probes, as a load balancer and Prometheus would send them.

Environment: KEYPORT_LOAD_MAX_SIZE (the server's --max-size, default 1024), KEYPORT_LOAD_WAIT
("min,max" seconds between a user's requests, default "0,0.1"), KEYPORT_LOAD_ADMIN_URL (the admin
listener, e.g. http://127.0.0.1:9123, where the scrapes go; without it there are none).
"""
from __future__ import annotations

import os
import random
import threading

from locust import FastHttpUser, between, events, task

MAX_SIZE = int(os.environ.get("KEYPORT_LOAD_MAX_SIZE", "1024"))
WAIT_MIN, WAIT_MAX = (float(x) for x in os.environ.get("KEYPORT_LOAD_WAIT", "0,0.1").split(","))
ADMIN_URL = os.environ.get("KEYPORT_LOAD_ADMIN_URL", "").rstrip("/")

_known_ids: list[str] = []
_known_countries: list[str] = []
_lock = threading.Lock()

# Bad requests and the status each must get (every one a clear 4xx, never a 5xx).
BAD_REQUESTS = [
    ("GET", "/key/0", 400, "/key/[bad length]"),
    ("GET", f"/key/{MAX_SIZE + 1}", 400, "/key/[bad length]"),
    ("GET", "/key/-5", 400, "/key/[bad length]"),
    ("GET", "/key/12abc", 400, "/key/[bad length]"),
    ("GET", "/key/99999999999999999999", 400, "/key/[bad length]"),
    ("GET", "/key/16?encoding=rot13", 400, "/key/[bad encoding]"),
    ("GET", "/key/16?colour=blue", 400, "/key/[bad encoding]"),
    ("GET", "/ports?limit=0", 400, "/ports?[bad parameter]"),
    ("GET", "/ports?limit=5000", 400, "/ports?[bad parameter]"),
    ("GET", "/ports?limit=ten", 400, "/ports?[bad parameter]"),
    ("GET", "/ports?after=", 400, "/ports?[bad parameter]"),
    ("GET", "/ports?limit=%zz", 400, "/ports?[bad parameter]"),
    ("GET", "/nope", 404, "[unknown path]"),
    ("GET", "/key", 404, "[unknown path]"),
    ("DELETE", "/ports", 405, "[wrong method]"),
    ("POST", "/key/16", 405, "[wrong method]"),
    ("PUT", "/health", 405, "[wrong method]"),
    ("GET", "/metrics", 404, "[admin path on the service port]"),
]


@events.test_start.add_listener
def learn_ids(environment, **_kwargs):
    """Learns real ids and countries from the first pages, so look-ups hit (and page cursors are real)."""
    import requests

    host = environment.host.rstrip("/")
    after = None
    for _ in range(5):
        params = {"limit": 1000, **({"after": after} if after else {})}
        page = requests.get(f"{host}/ports", params=params, timeout=10).json()
        with _lock:
            for record in page["ports"]:
                _known_ids.append(record["id"])
                if record["country"] not in _known_countries:
                    _known_countries.append(record["country"])
        after = page["next"]
        if not after:
            break
    if not _known_ids:
        raise RuntimeError(f"{host}/ports returned no records: is the ports file loaded?")


class KeyportUser(FastHttpUser):
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def _expect(self, method: str, path: str, status: int, name: str) -> None:
        with self.client.request(method, path, name=name, catch_response=True) as response:
            if response.status_code != status:
                response.failure(f"{method} {path}: expected {status}, got {response.status_code}")
            elif status >= 400 and b'"status"' not in (response.content or b""):
                response.failure(f"{method} {path}: {status} without a JSON error body")
            else:
                response.success()

    @task(30)
    def small_key(self) -> None:
        self._expect("GET", f"/key/{random.choice([16, 24, 32, 48, 64])}", 200, "/key/[small]")

    @task(8)
    def encoded_key(self) -> None:
        encoding = random.choice(["hex", "base64"])
        self._expect("GET", f"/key/{random.randint(1, min(256, MAX_SIZE))}?encoding={encoding}", 200, "/key/[encoded]")

    @task(3)
    def large_key(self) -> None:
        self._expect("GET", f"/key/{random.randint(MAX_SIZE // 2, MAX_SIZE)}", 200, "/key/[large]")

    @task(25)
    def port_by_id(self) -> None:
        self._expect("GET", f"/ports/{random.choice(_known_ids)}", 200, "/ports/{id}")

    @task(4)
    def missing_port(self) -> None:
        self._expect("GET", f"/ports/ZZ{random.randint(0, 999):03d}", 404, "/ports/[missing]")

    @task(8)
    def first_page(self) -> None:
        self._expect("GET", f"/ports?limit={random.choice([10, 100, 500])}", 200, "/ports")

    @task(6)
    def next_page(self) -> None:
        self._expect("GET", f"/ports?limit=50&after={random.choice(_known_ids)}", 200, "/ports?after")

    @task(4)
    def by_country(self) -> None:
        country = random.choice(_known_countries).lower().replace(" ", "%20")
        self._expect("GET", f"/ports?limit=20&country={country}", 200, "/ports?country")

    @task(8)
    def bad_request(self) -> None:
        method, path, status, name = random.choice(BAD_REQUESTS)
        self._expect(method, path, status, name)

    @task(3)
    def probes(self) -> None:
        self._expect("GET", random.choice(["/health", "/ready"]), 200, "[probes]")

    @task(1)
    def scrape(self) -> None:
        """Prometheus' scrape, on the admin listener."""
        if ADMIN_URL:
            self._expect("GET", f"{ADMIN_URL}/metrics", 200, "/metrics")
