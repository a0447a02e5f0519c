"""``bench.run --only oci``: the OCI front door (``/v2/`` through the gateway) against Zot
directly, in interleaved rounds (the order flipped each round; every ratio taken within its
round, the median reported). Issue 13's targets: >= 0.9 for a large layer, >= 0.8 for small
manifests.

- **layer**: one client pushes a 512 MiB blob (digest known: the one-request upload Zot takes,
  as crane and podman push a layer whose digest they know) and pulls it back, streamed.
  Every push is new bytes (a seed per push), so Zot's dedupe does not shortcut one path.
- **manifests**: 1000 small manifests (the empty config, a distinct annotation each) pushed by
  tag into a fresh repository, then pulled by tag, by 8 client threads.

Direct requests carry the gateway's own Basic credentials, as the gateway sends them; gateway
requests carry a registry token from ``/v2/token`` (fetched once, as clients do), so Zot's
share of the work is the same on both paths and the ratio is the gateway's cost.
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

import httpx

from bench import clients, data
from bench.measure import Pool, sequential, summary
from bench.procs import ACCESS_KEY, SECRET_KEY

if TYPE_CHECKING:
    from bench.run import Bench

LAYER = 512 << 20
MANIFESTS = 1000
WORKERS = 8
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2,
}
PATHS = ("direct", "gateway")


def _token(bench: Bench, repositories: list[str]) -> str:
    pair = base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()
    scopes = [("scope", f"repository:{name}:pull,push") for name in repositories]
    answer = httpx.get(
        f"{bench.url}/v2/token",
        params=[("service", "artifact-store"), *scopes],
        headers={"Authorization": f"Basic {pair}"},
        timeout=30,
    )
    if answer.status_code != 200:
        raise clients.Failed(f"token: HTTP {answer.status_code} {answer.text}")
    return str(answer.json()["token"])


def _client(bench: Bench, path: str, token: str) -> httpx.Client:
    if path == "direct":
        return clients.registry_client(bench.live_registry)
    return httpx.Client(
        base_url=bench.url, headers={"Authorization": f"Bearer {token}"}, timeout=clients.TIMEOUT
    )


def _manifest(round_number: int, path: str, index: int) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": "application/vnd.example.bench",
        "config": EMPTY,
        "layers": [],
        "annotations": {"bench": f"{round_number}/{path}/{index}"},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _layer(bench: Bench, round_number: int, path: str, token: str) -> dict[str, Any]:
    repository = f"oci-bench/layers-{path}"
    seed = 1000 + round_number * 2 + PATHS.index(path)
    data.sha256_hex(seed, LAYER)  # warm: hashing is the client's, not the measured path's
    with _client(bench, path, token) as client:
        digests: list[str] = []
        with bench.phase(f"oci.{path}.layer-push.r{round_number}") as record:
            push = sequential(
                lambda _i: digests.append(clients.push_blob(client, repository, seed, LAYER)), 1
            )
            record["push"] = summary(push, bytes_per_op=LAYER)
        with bench.phase(f"oci.{path}.layer-pull.r{round_number}") as record:
            pull = sequential(lambda _i: clients.get_blob(client, repository, digests[0], LAYER), 1)
            record["pull"] = summary(pull, bytes_per_op=LAYER)
    return {"push": summary(push, bytes_per_op=LAYER), "pull": summary(pull, bytes_per_op=LAYER)}


def _manifests(bench: Bench, round_number: int, path: str, token: str) -> dict[str, Any]:
    repository = f"oci-bench/manifests-{path}-r{round_number}"
    count = MANIFESTS // (10 if bench.args.quick else 1)
    with _client(bench, path, token) as setup:
        clients.ensure_config(setup, repository)
    pool = Pool(WORKERS, lambda: _client(bench, path, token))

    def put(client: httpx.Client, i: int) -> None:
        answer = client.put(
            f"/v2/{repository}/manifests/t{i}",
            content=_manifest(round_number, path, i),
            headers={"Content-Type": MANIFEST},
        )
        if answer.status_code != 201:
            raise clients.Failed(f"PUT manifest: HTTP {answer.status_code} {answer.text[:200]}")

    def get(client: httpx.Client, i: int) -> None:
        answer = client.get(f"/v2/{repository}/manifests/t{i}", headers={"Accept": MANIFEST})
        if answer.status_code != 200:
            raise clients.Failed(f"GET manifest: HTTP {answer.status_code}")

    found: dict[str, Any] = {}
    for verb, operation in (("put", put), ("get", get)):
        with bench.phase(f"oci.{path}.manifest-{verb}.r{round_number}") as record:
            latencies, _done, errors, wall = pool.run(operation, count)
            record[verb] = found[verb] = summary(latencies, wall=wall, errors=errors)
        bench.note_errors(f"oci {path} manifest {verb}", pool, errors)
    return found


def _ratio(gateway: float, direct: float) -> float | None:
    return round(gateway / direct, 3) if direct else None


def run(bench: Bench) -> dict[str, Any]:
    repositories = ["oci-bench/layers-gateway"] + [
        f"oci-bench/manifests-gateway-r{n}" for n in range(bench.args.rounds)
    ]
    token = _token(bench, repositories)
    rounds: list[dict[str, Any]] = []
    for number in range(bench.args.rounds):
        measured: dict[str, Any] = {}
        order = PATHS if number % 2 == 0 else tuple(reversed(PATHS))
        for path in order:
            measured[path] = {"layer": _layer(bench, number, path, token)}
        for path in order:
            measured[path]["manifests"] = _manifests(bench, number, path, token)
        d, g = measured["direct"], measured["gateway"]
        measured["ratios"] = {
            "layer_push": _ratio(g["layer"]["push"]["mb_per_s"], d["layer"]["push"]["mb_per_s"]),
            "layer_pull": _ratio(g["layer"]["pull"]["mb_per_s"], d["layer"]["pull"]["mb_per_s"]),
            "manifest_put": _ratio(
                g["manifests"]["put"]["ops_per_s"], d["manifests"]["put"]["ops_per_s"]
            ),
            "manifest_get": _ratio(
                g["manifests"]["get"]["ops_per_s"], d["manifests"]["get"]["ops_per_s"]
            ),
        }
        measured["order"] = list(order)
        rounds.append(measured)
        time.sleep(1)
    return {"layer_bytes": LAYER, "manifests": MANIFESTS, "workers": WORKERS, "rounds": rounds}
