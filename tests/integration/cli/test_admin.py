"""policy get/set/delete (the store's own words for a policy it refuses, exit 7; --dry-run
changes nothing) and the shell completion scripts."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

from tests.integration.cli.conftest import Cli


def read_only_policy(bucket: str) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }


def test_policy_set_get_delete(cli: Cli, tmp_path: Path) -> None:
    bucket = f"cli-pol-{uuid.uuid4().hex[:8]}"
    cli.ok("mb", f"s3://{bucket}")
    assert cli.doc("policy", "get", f"s3://{bucket}", expect=2)["error"]["family"] == "NotFound"
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(read_only_policy(bucket)))

    dry = cli.doc("policy", "set", f"s3://{bucket}", str(policy), "--dry-run")
    assert dry["dryRun"] is True
    assert dry["result"]["policy"] == read_only_policy(bucket)
    assert cli.doc("policy", "get", f"s3://{bucket}", expect=2)["error"]["exitCode"] == 2

    assert cli.doc("policy", "set", f"s3://{bucket}", str(policy))["result"]["set"] is True
    got = cli.doc("policy", "get", f"s3://{bucket}")["result"]["policy"]
    assert got["Statement"][0]["Sid"] == "PublicRead"
    assert json.loads(cli.ok("policy", "get", f"s3://{bucket}").stdout)["Statement"]

    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Perhaps", "Action": "s3:*"}]}
    refused = cli.doc(
        "policy", "set", f"s3://{bucket}", "-", input=json.dumps(bad).encode(), expect=7
    )
    assert refused["error"]["family"] == "InvalidRequest"
    assert refused["error"]["code"] == "MalformedPolicy"
    assert refused["error"]["message"]
    text = cli("policy", "set", f"s3://{bucket}", "-", input=b"{not json")
    assert text.code == 7
    assert "MalformedPolicy" in text.stderr

    assert cli.doc("policy", "delete", f"s3://{bucket}", "--dry-run")["dryRun"] is True
    assert cli.doc("policy", "get", f"s3://{bucket}")["result"]["policy"] == got
    assert cli.doc("policy", "delete", f"s3://{bucket}")["result"] == {
        "bucket": bucket,
        "deleted": True,
    }
    assert cli.doc("policy", "get", f"s3://{bucket}", expect=2)["error"]["exitCode"] == 2


def test_completion_scripts(cli: Cli) -> None:
    for shell in ("bash", "zsh", "fish", "powershell"):
        script = cli.ok("completion", shell).stdout
        assert "artifactctl" in script, shell
        assert len(script) > 1000, shell
    bash = cli.ok("completion", "bash").stdout
    assert subprocess.run(["bash", "-n"], input=bash, text=True).returncode == 0
    kinds = cli.ok("__complete", "attach", "--kind", "").stdout.split()
    assert kinds[:3] == ["sbom", "attestation", "signature"]
    assert "verify" in cli.ok("__complete", "").stdout
    assert cli("completion", "tcsh").code == 1
