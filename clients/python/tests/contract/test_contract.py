"""The SDK contract (clients/contract/) run with the Python SDK: one test per scenario file,
each step mapped to one call of the public API. Started by tests/integration/sdk/ with the
live stack's environment; see clients/contract/README.md for the format."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import artifactstore
import httpx
import jsonschema
import pytest
import yaml
from artifactstore import ArtifactStoreError, Client, KeyPair, NotFound
from artifactstore.planning import parse_size
from contract_support import (
    data_bytes,
    data_file,
    data_sha256,
    download_path,
    make_client,
)

HERE = Path(__file__).resolve().parent
DEFAULT_SCENARIOS = HERE.parents[2] / "contract" / "scenarios"
SCENARIOS = Path(os.environ.get("CONTRACT_SCENARIOS") or DEFAULT_SCENARIOS)
SCHEMA = json.loads((SCENARIOS.parent / "schema.json").read_text())
REQUIRED = (
    "ARTIFACT_STORE_ENDPOINT",
    "ARTIFACT_STORE_ACCESS_KEY_ID",
    "ARTIFACT_STORE_SECRET_ACCESS_KEY",
    "ARTIFACT_STORE_OIDC_ISSUER",
    "ARTIFACT_STORE_OIDC_CLIENT",
    "CONTRACT_SHORT_CLIENT",
    "CONTRACT_USERS",
    "CONTRACT_WORKDIR",
)


def scenario_files() -> list[Path]:
    files = sorted(SCENARIOS.glob("*.yaml"))
    only = {n.strip() for n in os.environ.get("CONTRACT_ONLY", "").split(",") if n.strip()}
    return [f for f in files if not only or f.stem in only]


def substitute(value: Any, bucket: str) -> Any:
    if isinstance(value, str):
        return value.replace("$bucket", bucket)
    if isinstance(value, list):
        return [substitute(v, bucket) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, bucket) for k, v in value.items()}
    return value


class Runner:
    def __init__(self, env: dict[str, str], scenario: dict[str, Any]) -> None:
        self.env = env
        self.scenario = scenario
        self.bucket = "c-" + secrets.token_hex(5)
        self.workdir = Path(env["CONTRACT_WORKDIR"]) / f"{scenario['name']}-{self.bucket}"
        self.state_dir = self.workdir / "state"
        self.clients: dict[str, Client] = {}
        self.keys: dict[str, KeyPair] = {}

    def client(self, auth: dict[str, Any]) -> Client:
        name = json.dumps(auth, sort_keys=True)
        if name not in self.clients:
            self.clients[name] = make_client(self.env, auth, self.state_dir)
        return self.clients[name]

    def run(self) -> None:
        try:
            for number, raw in enumerate(self.scenario["steps"], 1):
                step = substitute(raw, self.bucket)
                try:
                    self.step(step)
                except AssertionError as failure:
                    raise AssertionError(f"step {number} ({step['do']}): {failure}") from None
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        root = self.client({"kind": "keys"})
        with contextlib.suppress(NotFound):
            root.delete_bucket(self.bucket, recursive=True)
        for client in self.clients.values():
            client.close()

    def step(self, step: dict[str, Any]) -> None:
        auth = step.get("auth") or self.scenario["auth"]
        client = self.client(auth)
        expected_error = step.get("expect_error")
        try:
            result = getattr(self, "do_" + step["do"])(client, step, auth)
        except ArtifactStoreError as error:
            if expected_error is None:
                raise AssertionError(f"unexpected {type(error).__name__}: {error}") from error
            family = getattr(artifactstore, expected_error)
            assert isinstance(error, family), f"wanted {expected_error}, got {error!r}"
            return
        assert expected_error is None, f"wanted {expected_error}, the call succeeded"
        for name, wanted in (step.get("expect") or {}).items():
            self.check(step["do"], name, wanted, result)

    def check(self, op: str, name: str, wanted: Any, result: dict[str, Any]) -> None:
        if name == "data":
            assert result["sha256"] == data_sha256(self.workdir, wanted), "bytes differ"
            assert result["size"] == parse_size(wanted["size"])
        elif name.endswith("_min"):
            got = result[name.removesuffix("_min")]
            assert got >= parse_size(wanted), f"{name}: {got} < {wanted}"
        elif name == "size":
            assert result["size"] == parse_size(wanted), f"size {result['size']}"
        elif name == "metadata":
            for k, v in wanted.items():
                assert result["metadata"].get(k) == v, f"metadata {result['metadata']}"
        else:
            assert name in result, f"{op} has no {name!r} in {sorted(result)}"
            assert result[name] == wanted, f"{name}: {result[name]!r} != {wanted!r}"

    # -- the operations ------------------------------------------------------------------

    def do_create_bucket(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        c.create_bucket(s["bucket"])
        return {}

    def do_delete_bucket(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        c.delete_bucket(s["bucket"], recursive=bool(s.get("recursive")))
        return {}

    def do_put_bucket_policy(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        c.put_bucket_policy(s["bucket"], s["policy"])
        return {}

    def do_get_bucket_policy(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        return {"policy": c.get_bucket_policy(s["bucket"])}

    def do_upload(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        if "kill_after_parts" in s:
            self.killed(s, auth, "parts", int(s["kill_after_parts"]))
            return {}
        options = {k: s[k] for k in ("part_size", "threshold", "concurrency") if k in s}
        path = data_file(self.workdir, s["data"])
        if s.get("source") == "stream":
            with path.open("rb") as stream:
                result = c.upload(
                    s["bucket"], s["key"], _Unseekable(stream),
                    checksum=s.get("checksum", "CRC64NVME"), metadata=s.get("metadata"),
                    **options,
                )  # fmt: skip
        else:
            result = c.upload(
                s["bucket"], s["key"], path,
                checksum=s.get("checksum", "CRC64NVME"), metadata=s.get("metadata"), **options,
            )  # fmt: skip
        return {
            "parts": result.parts,
            "resumed_parts": result.resumed_parts,
            "etag_present": bool(result.etag),
        }

    def do_download(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        if "kill_after_bytes" in s:
            self.killed(s, auth, "bytes", parse_size(s["kill_after_bytes"]))
            return {}
        target = download_path(self.workdir, s["bucket"], s["key"])
        result = c.download(
            s["bucket"],
            s["key"],
            target,
            part_size=parse_size(s.get("part_size", "8MiB")),
            concurrency=int(s.get("concurrency", 4)),
            require_signature=bool(s.get("require_signature")),
        )
        return {"sha256": result.sha256, "size": result.size, "resumed_from": result.resumed_bytes}

    def do_head(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        info = c.head(s["bucket"], s["key"])
        return {"size": info.size, "etag_present": bool(info.etag), "metadata": info.metadata}

    def do_list(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        page_size = int(s.get("page_size", 1000))
        objects = c.list_objects(s["bucket"], s.get("prefix", ""), page_size=page_size)
        return {"keys": [o.key for o in objects]}

    def do_delete(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        c.delete(s["bucket"], list(s["keys"]))
        return {}

    def do_presign(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        url = c.presign(s["bucket"], s["key"], method=s["method"], expires=s.get("expires", 3600))
        if s["method"] == "PUT":
            body = data_bytes(parse_size(s["data"]["size"]), int(s["data"]["seed"]))
            answer = httpx.put(url, content=body, timeout=60)
            return {"status": answer.status_code}
        answer = httpx.get(url, timeout=60)
        return {
            "status": answer.status_code,
            "sha256": hashlib.sha256(answer.content).hexdigest(),
            "size": len(answer.content),
        }

    def do_put_raw(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        body = data_bytes(parse_size(s["data"]["size"]), int(s["data"]["seed"]))
        c.put_object(s["bucket"], s["key"], body)
        return {}

    def do_sign(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        keys = self.keys.get(s["as"]) or KeyPair.generate(s["key_type"])
        self.keys[s["as"]] = keys
        c.sign(s["bucket"], s["key"], keys)
        return {}

    def do_trust(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        require = s.get("require_signature", False)
        c.trust_key(s["bucket"], s["key_ref"], self.keys[s["key_ref"]], require_signature=require)
        return {}

    def do_attach(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        if "document" in s:
            document: bytes | dict[str, Any] = s["document"]
        else:
            document = data_bytes(parse_size(s["data"]["size"]), int(s["data"]["seed"]))
        c.attach(s["bucket"], s["key"], s["kind"], document, media_type=s["media_type"])
        return {}

    def do_referrers(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        found = c.referrers(s["bucket"], s["key"], kind=s.get("kind"))
        return {"count": len(found), "kinds": sorted({str(r.kind.value) for r in found})}

    def do_verify(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        verdict: dict[str, Any] = c.verify(s["bucket"], s["key"]).model_dump(mode="json")
        return verdict

    def do_verify_local(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        return {"valid": c.verify_local(s["bucket"], s["key"], self.keys[s["key_ref"]])}

    def do_wait(self, c: Client, s: dict[str, Any], auth: Any) -> dict[str, Any]:
        time.sleep(float(s["seconds"]))
        return {}

    # -- killed steps --------------------------------------------------------------------

    def killed(self, step: dict[str, Any], auth: dict[str, Any], unit: str, limit: int) -> None:
        """Run the step in a child process and SIGKILL it once ``limit`` parts are stored
        (or bytes written), as its progress lines report."""
        job = {
            "step": step,
            "auth": auth,
            "workdir": str(self.workdir),
            "state_dir": str(self.state_dir),
        }
        if "data" in step:
            data_file(self.workdir, step["data"])  # made before the clock starts
        child = subprocess.Popen(
            [sys.executable, str(HERE / "contract_child.py"), json.dumps(job)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(HERE)},
        )
        assert child.stdout is not None
        killed = False
        for line in child.stdout:
            words = line.split()
            if words and words[0] == "parts":
                done = int(words[1]) if unit == "parts" else int(words[3])
                if done >= limit:
                    os.kill(child.pid, signal.SIGKILL)
                    killed = True
                    break
        child.stdout.close()
        code = child.wait(timeout=120)
        assert killed, f"the child finished (exit {code}) before {limit} {unit}"
        assert code == -signal.SIGKILL, f"child exit {code}"


class _Unseekable:
    """A stream that can only be read: what a pipe or a socket gives an upload."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.inner.read(size)
        return data


@pytest.fixture(scope="session")
def env() -> dict[str, str]:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        message = f"the contract needs the live stack's environment: {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return dict(os.environ)


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: p.stem)
def test_scenario(path: Path, env: dict[str, str]) -> None:
    scenario = yaml.safe_load(path.read_text())
    jsonschema.validate(scenario, SCHEMA)
    assert scenario["name"] == path.stem, "name must be the file's stem"
    Runner(env, scenario).run()
