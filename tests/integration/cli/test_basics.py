"""The skeleton's promises: version, the JSON envelope, exit codes, mb idempotence, --dry-run."""

from __future__ import annotations

import uuid

from tests.fixtures.artifactctl import VERSION
from tests.integration.cli.conftest import Cli


def test_version_json(cli: Cli) -> None:
    doc = cli.doc("version")
    assert doc["schemaVersion"] == 1
    assert doc["command"] == "version"
    assert doc["result"]["version"] == VERSION


def test_usage_error_exits_1(cli: Cli) -> None:
    assert cli("no-such-command").code == 1
    assert cli("mb").code == 1  # a missing argument
    assert cli("ls", "--output", "yaml").code == 1


def test_mb_is_idempotent_and_ls_lists(cli: Cli) -> None:
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    assert cli.doc("mb", f"s3://{bucket}")["result"] == {"bucket": bucket, "created": True}
    cli.ok("mb", f"s3://{bucket}")  # an existing bucket of one's own is no error
    names = [b["name"] for b in cli.doc("ls")["result"]["buckets"]]
    assert bucket in names
    listing = cli.doc("ls", f"s3://{bucket}")["result"]
    assert listing == {"bucket": bucket, "prefix": "", "entries": []}


def test_dry_run_changes_nothing(cli: Cli) -> None:
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    doc = cli.doc("mb", f"s3://{bucket}", "--dry-run")
    assert doc["dryRun"] is True
    assert cli.doc("ls", f"s3://{bucket}", expect=2)["error"]["family"] == "NotFound"


def test_not_found_and_denied_exit_codes(cli: Cli) -> None:
    missing = cli.doc("ls", f"s3://cli-missing-{uuid.uuid4().hex[:8]}", expect=2)
    assert missing["error"]["family"] == "NotFound"
    denied = cli.doc("ls", expect=3, env={"ARTIFACT_STORE_SECRET_ACCESS_KEY": "wrong"})
    assert denied["error"]["exitCode"] == 3
