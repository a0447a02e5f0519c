"""``bench.run --only identity``: 4 KiB GETs with SigV4, a Keycloak Bearer token and
anonymously (a public-read bucket), 8 client threads each, on the same gateway in one run.
Issue #5's target: identity and policy checks (cached JWKS, compiled policies) keep the three
within 10 % of each other. Keycloak is started by ``Bench.start`` when this part runs.

The three modes run in ``ROUNDS`` rounds of a quarter of the operations each, the order
rotated every round, and each mode's rate is its operations over the sum of its walls: a
machine that gets busier or quieter during the part, or a warm-up, then weighs on all three
alike (run one after the other, the spread moved from 0.09 to 0.18 between two runs)."""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

import httpx

from bench import clients, data
from bench.measure import Pool, summary

if TYPE_CHECKING:
    from bench.run import Bench

BUCKET = "auth-bench"
OBJECTS = 200
SIZE = 4 << 10
WORKERS = 8
ROUNDS = 4
PUBLIC = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
    ],
}


def run(bench: Bench) -> dict[str, Any]:
    assert bench.keycloak is not None
    s3 = bench.s3()
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(PUBLIC))
    for i in range(OBJECTS):
        s3.put_object(Bucket=BUCKET, Key=f"o/{i:04d}", Body=data.whole(i + 1, SIZE))
    s3.close()
    token = bench.keycloak.password_token("alice")  # artifact-reader
    count = 2000 // (10 if bench.args.quick else 1)
    order = random.Random(11).choices(range(OBJECTS), k=count)

    def url(i: int) -> str:
        return f"{bench.url}/{BUCKET}/o/{order[i]:04d}"

    def get(client: httpx.Client, i: int, headers: dict[str, str]) -> None:
        response = client.get(url(i), headers=headers)
        if response.status_code != 200 or len(response.content) != SIZE:
            raise clients.Failed(f"GET {url(i)}: HTTP {response.status_code}")

    # Signed before the clock starts (valid for 15 minutes): the client's own signing CPU
    # would otherwise be charged to SigV4 on these shared 2 cores; the gateway's checks are
    # what is measured.
    presigned = [clients.signed_headers("GET", url(i)) for i in range(count)]
    modes = {
        "sigv4": lambda c, i: get(c, i, presigned[i]),
        "bearer": lambda c, i: get(c, i, {"Authorization": f"Bearer {token}"}),
        "anonymous": lambda c, i: get(c, i, {}),
    }
    out: dict[str, Any] = {"workers": WORKERS, "objects": OBJECTS, "rounds": ROUNDS}
    pool = Pool(WORKERS, lambda: httpx.Client(timeout=clients.TIMEOUT))
    names = list(modes)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    walls = dict.fromkeys(names, 0.0)
    failures = dict.fromkeys(names, 0)
    per_round = max(1, count // ROUNDS)
    with bench.phase("identity.get.4KiB.rounds") as record:
        for round_number in range(ROUNDS):
            shift = round_number % len(names)
            for mode in names[shift:] + names[:shift]:
                taken, _, errors, wall = pool.run(modes[mode], per_round)
                latencies[mode] += taken
                walls[mode] += wall
                failures[mode] += errors
                bench.note_errors(f"identity {mode}", pool, errors)
        for mode in names:
            out[mode] = summary(
                latencies[mode], wall=walls[mode], bytes_per_op=SIZE, errors=failures[mode]
            )
            record[mode] = out[mode]
    rates = [out[mode]["ops_per_s"] for mode in modes]
    out["spread"] = round(max(rates) / min(rates) - 1, 3) if min(rates) else None
    return out
