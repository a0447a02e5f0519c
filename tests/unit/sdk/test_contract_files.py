"""The contract's files: every scenario is valid against the schema, named after its file,
and the schema refuses what a runner could not run."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "clients" / "contract"
SCHEMA = json.loads((CONTRACT / "schema.json").read_text())
SCENARIOS = sorted((CONTRACT / "scenarios").glob("*.yaml"))
OPS = {
    "create_bucket", "delete_bucket", "put_bucket_policy", "get_bucket_policy", "upload",
    "download", "head", "list", "delete", "presign", "put_raw", "sign", "trust", "attach",
    "referrers", "verify", "verify_local", "wait",
}  # fmt: skip


def load_support():  # type: ignore[no-untyped-def]
    path = ROOT / "clients" / "python" / "tests" / "contract" / "contract_support.py"
    spec = importlib.util.spec_from_file_location("contract_support", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("contract_support", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenarios_are_valid(path: Path) -> None:
    scenario = yaml.safe_load(path.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(scenario)
    assert scenario["name"] == path.stem


def test_the_scenarios_use_every_operation() -> None:
    used = {step["do"] for p in SCENARIOS for step in yaml.safe_load(p.read_text())["steps"]}
    assert used == OPS


@pytest.mark.parametrize(
    "step",
    [
        {"do": "uplaod", "bucket": "b", "key": "k", "data": {"size": 1, "seed": 1}},
        {"do": "upload", "bucket": "b", "key": "k"},
        {"do": "upload", "bucket": "b", "key": "k", "data": {"size": "5MB", "seed": 1}},
        {"do": "head", "bucket": "b", "key": "k", "expect_error": "Missing"},
        {"do": "head", "bucket": "b", "key": "k", "expect": {}, "expect_error": "NotFound"},
        {"do": "sign", "bucket": "b", "key": "k", "key_type": "rsa", "as": "x"},
    ],
)
def test_the_schema_refuses_broken_steps(step: dict) -> None:
    scenario = {"name": "x", "summary": "s", "auth": {"kind": "keys"}, "steps": [step]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scenario, SCHEMA)


def test_the_schema_wants_a_user_for_token_auth() -> None:
    scenario = {"name": "x", "summary": "s", "auth": {"kind": "token"},
                "steps": [{"do": "wait", "seconds": 1}]}  # fmt: skip
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scenario, SCHEMA)


@given(st.integers(0, 4096), st.integers(0, 1000))
def test_deterministic_data_is_the_hash_chain(size: int, seed: int) -> None:
    import hashlib

    support = load_support()
    data = support.data_bytes(size, seed)
    assert len(data) == size
    if size >= 32:
        assert data[:32] == hashlib.sha256(f"{seed}:0".encode()).digest()
    if size >= 64:
        assert data[32:64] == hashlib.sha256(f"{seed}:1".encode()).digest()


def test_the_data_file_equals_the_bytes(tmp_path: Path) -> None:
    support = load_support()
    spec = {"size": "1MiB", "seed": 3}
    size = 1024 * 1024 + 0
    path = support.data_file(tmp_path, spec)
    assert path.read_bytes() == support.data_bytes(size, 3)
    odd = support.data_file(tmp_path, {"size": 1048577, "seed": 3})
    assert odd.read_bytes() == support.data_bytes(1048577, 3)
    assert support.data_file(tmp_path, spec) == path  # made once
