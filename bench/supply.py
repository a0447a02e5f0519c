"""``bench.run --only supply``: GET of a 1 MiB object from a ``require-signature`` bucket vs.
the same from an ordinary bucket, one client back to back, on the same gateway in one run.
Issue #6's target: after the first request (which computes the verdict) the difference is
under 1 ms per request.

Each object in the require-signature bucket carries a sigstore bundle signed by a key the
bucket trusts. One GET per object fills the verdict cache before the clock starts; then the
two modes alternate in rounds (the order rotated every round) so that a machine getting
busier or quieter weighs on both alike. The difference reported is of the mean latencies
(and of the medians, less sensitive to a stray hiccup)."""

from __future__ import annotations

import base64
import hashlib
import random
import statistics
from typing import TYPE_CHECKING, Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from bench import clients, data
from bench.measure import sequential, summary
from bench.procs import ACCESS_KEY, SECRET_KEY
from gateway.domain.supply.receipts import ReceiptSigner

if TYPE_CHECKING:
    from bench.run import Bench

PLAIN, SIGNED = "supply-plain", "supply-signed"
OBJECTS = 20
SIZE = 1 << 20
ROUNDS = 6
BASIC = {
    "Authorization": "Basic " + base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()
}


def _prepare(bench: Bench) -> None:
    # The same bundle the gateway writes as a receipt: a message signature with a key hint.
    signer = ReceiptSigner(ec.generate_private_key(ec.SECP256R1()))
    public = signer.public_pem.encode()
    s3 = bench.s3()
    for bucket in (PLAIN, SIGNED):
        s3.create_bucket(Bucket=bucket)
    trust = {"require_signature": True, "keys": [{"name": "bench", "public_key": public.decode()}]}
    with httpx.Client(base_url=bench.url, headers=BASIC, timeout=clients.TIMEOUT) as api:
        answer = api.put(f"/_artifacts/trust/{SIGNED}", json=trust)
        if answer.status_code != 200:
            raise clients.Failed(f"trust: HTTP {answer.status_code} {answer.text}")
        for i in range(OBJECTS):
            content = data.whole(i + 1, SIZE)
            for bucket in (PLAIN, SIGNED):
                s3.put_object(Bucket=bucket, Key=f"o/{i:03d}", Body=content)
            attached = api.post(
                f"/_artifacts/referrers/{SIGNED}",
                params={"key": f"o/{i:03d}", "kind": "signature"},
                content=signer.bundle(hashlib.sha256(content).hexdigest()),
                headers={"Content-Type": "application/vnd.dev.sigstore.bundle.v0.3+json"},
            )
            if attached.status_code != 201:
                raise clients.Failed(f"attach: HTTP {attached.status_code} {attached.text}")
    s3.close()


def run(bench: Bench) -> dict[str, Any]:
    _prepare(bench)
    count = 600 // (10 if bench.args.quick else 1)
    order = random.Random(6).choices(range(OBJECTS), k=count)
    urls = {b: [f"{bench.url}/{b}/o/{order[i]:03d}" for i in range(count)] for b in (PLAIN, SIGNED)}
    headers = {b: [clients.signed_headers("GET", url) for url in urls[b]] for b in urls}
    client = httpx.Client(timeout=clients.TIMEOUT)

    def get(bucket: str, i: int) -> None:
        response = client.get(urls[bucket][i], headers=headers[bucket][i])
        if response.status_code != 200 or len(response.content) != SIZE:
            raise clients.Failed(f"GET {urls[bucket][i]}: HTTP {response.status_code}")

    def fetch(url: str) -> None:
        _check(client.get(url, headers=clients.signed_headers("GET", url)))

    first: list[float] = []
    for i in range(OBJECTS):  # the first GET of each signed object computes its verdict
        signed_url = f"{bench.url}/{SIGNED}/o/{i:03d}"
        first += sequential(lambda _n, url=signed_url: fetch(url), 1)
        fetch(f"{bench.url}/{PLAIN}/o/{i:03d}")
    latencies: dict[str, list[float]] = {PLAIN: [], SIGNED: []}
    per_round = max(1, count // ROUNDS)
    out: dict[str, Any] = {"objects": OBJECTS, "size": SIZE, "rounds": ROUNDS}
    with bench.phase("supply.get.1MiB.rounds") as record:
        for round_number in range(ROUNDS):
            names = [PLAIN, SIGNED] if round_number % 2 == 0 else [SIGNED, PLAIN]
            for bucket in names:
                start = round_number * per_round
                latencies[bucket] += sequential(
                    lambda n, bucket=bucket, start=start: get(bucket, start + n), per_round
                )
        for name, bucket in (("plain", PLAIN), ("require_signature", SIGNED)):
            out[name] = summary(latencies[bucket], bytes_per_op=SIZE)
            record[name] = out[name]
    client.close()
    out["first_get_ms"] = round(statistics.mean(first) * 1000, 2)
    mean = {b: statistics.mean(latencies[b]) for b in latencies}
    median = {b: statistics.median(latencies[b]) for b in latencies}
    out["difference_ms"] = round((mean[SIGNED] - mean[PLAIN]) * 1000, 3)
    out["difference_p50_ms"] = round((median[SIGNED] - median[PLAIN]) * 1000, 3)
    return out


def _check(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise clients.Failed(f"GET {response.url}: HTTP {response.status_code}")
