"""sign, attach, referrers, verify and trust against the real gateway: a signature by a
trusted key passes (exit 0), an unsigned object in a require-signature bucket or a wrong key
fails (exit 4, the reasons given), and --dry-run attaches nothing."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

from tests.conftest import s3_client
from tests.fixtures.servers import RunningGateway
from tests.fixtures.supply_chain import cyclonedx
from tests.integration.cli.conftest import Cli


def bucket_with_object(cli: Cli, gateway: RunningGateway, body: bytes = b"release 1.0\n") -> str:
    bucket = f"cli-sc-{uuid.uuid4().hex[:8]}"
    cli.ok("mb", f"s3://{bucket}")
    s3_client(gateway.url).put_object(Bucket=bucket, Key="app/app.tar.gz", Body=body)
    return bucket


def test_sign_trust_verify_passes_and_a_wrong_key_fails(
    cli: Cli, cli_gateway: RunningGateway, tmp_path: Path
) -> None:
    bucket = bucket_with_object(cli, cli_gateway)
    target = f"s3://{bucket}/app/app.tar.gz"
    key = tmp_path / "release.pem"
    made = cli.doc("sign", "--generate-key", str(key))["result"]
    assert made["generatedKey"] == {"privateKey": str(key), "publicKey": f"{key}.pub"}
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "PUBLIC KEY" in Path(f"{key}.pub").read_text()
    assert cli("sign", "--generate-key", str(key)).code == 1  # never over an existing key

    assert cli.doc("verify", target, expect=4)["result"]["passed"] is False  # unsigned
    added = cli.doc("trust", "add-key", f"s3://{bucket}", "release", f"{key}.pub")["result"]
    assert added == {"bucket": bucket, "addedKey": "release"}
    trust = cli.doc("trust", "get", f"s3://{bucket}")["result"]
    assert [k["name"] for k in trust["keys"]] == ["release"]

    assert cli.doc("sign", "--key", str(key), target, "--dry-run")["dryRun"] is True
    assert cli.doc("referrers", target)["result"]["referrers"] == []
    quiet = cli.ok("sign", "--quiet", "--key", str(key), target)  # the CI integrations' call
    assert quiet.stdout == ""
    signatures = cli.doc("referrers", "--kind", "signature", target)["result"]["referrers"]
    assert len(signatures) == 1
    assert signatures[0]["kind"] == "signature"

    verdict = cli.doc("verify", target)["result"]
    assert verdict["passed"] is True
    assert verdict["signed"] is True
    assert verdict["reasons"] == []
    assert verdict["signatures"][0]["signer"] == "release"
    offline = cli.doc("verify", "--key", f"{key}.pub", target)["result"]
    assert offline["passed"] is True
    assert offline["local"]["valid"] is True
    assert offline["local"]["sha256"] == verdict["sha256"]
    assert "verified" in cli.ok("verify", target).stdout

    other = tmp_path / "other.pem"
    cli.ok("sign", "--generate-key", str(other), "--key-type", "ed25519")
    failed = cli.doc("verify", "--key", f"{other}.pub", target, expect=4)["result"]
    assert failed["passed"] is False
    assert failed["local"]["valid"] is False
    assert any("with " in reason for reason in failed["reasons"])
    text = cli("verify", "--key", f"{other}.pub", target)
    assert text.code == 4
    assert "NOT verified" in text.stdout

    # A second signer the bucket does not trust: its signature is attached, the verdict
    # still passes on the trusted one, and the offline check with its own key passes too.
    signed = cli.doc("sign", "--key", str(other), target)["result"]
    assert signed["keyType"] == "ed25519"
    assert signed["referrer"]["kind"] == "signature"
    assert len(cli.doc("referrers", "--kind", "signature", target)["result"]["referrers"]) == 2
    assert cli.doc("verify", "--key", f"{other}.pub", target)["result"]["local"]["valid"] is True


def test_require_signature_bucket_fails_verify_of_unsigned(
    cli: Cli, cli_gateway: RunningGateway
) -> None:
    bucket = bucket_with_object(cli, cli_gateway)
    target = f"s3://{bucket}/app/app.tar.gz"
    dry = cli.doc("trust", "require-signature", "on", f"s3://{bucket}", "--dry-run")
    assert dry["dryRun"] is True
    assert cli.doc("trust", "get", f"s3://{bucket}")["result"].get("requireSignature") is not True
    on = cli.doc("trust", "require-signature", "on", f"s3://{bucket}")["result"]
    assert on == {"bucket": bucket, "requireSignature": True}
    assert cli.doc("trust", "get", f"s3://{bucket}")["result"]["requireSignature"] is True
    doc = cli.doc("verify", target, expect=4)
    assert doc["result"]["requireSignature"] is True
    assert doc["result"]["reasons"]
    assert cli("trust", "require-signature", "maybe", f"s3://{bucket}").code == 1


def test_attach_sbom_dry_run_and_referrers(
    cli: Cli, cli_gateway: RunningGateway, tmp_path: Path
) -> None:
    bucket = bucket_with_object(cli, cli_gateway)
    target = f"s3://{bucket}/app/app.tar.gz"
    sbom = tmp_path / "sbom.cdx.json"
    sbom.write_text(json.dumps(cyclonedx()))
    dry = cli.doc("attach", "--kind", "sbom", "--file", str(sbom), target, "--dry-run")
    assert dry["dryRun"] is True
    assert dry["result"]["mediaType"] == "application/vnd.cyclonedx+json"
    assert cli.doc("referrers", target)["result"]["referrers"] == []
    # The CI integrations' exact call.
    run = cli.ok(
        "attach", "--quiet", "--kind", "sbom", "--media-type", "application/vnd.cyclonedx+json",
        "--file", str(sbom), target,
    )  # fmt: skip
    assert run.stdout == ""
    again = cli.doc("attach", "--kind", "sbom", "--file", str(sbom), target)["result"]
    listed = cli.doc("referrers", "--kind", "sbom", target)["result"]["referrers"]
    assert [r["digest"] for r in listed] == [again["referrer"]["digest"]]  # attached once
    assert cli.doc("referrers", "--kind", "signature", target)["result"]["referrers"] == []
    assert cli.doc("verify", "--require-sbom", target, expect=4)["result"]["sbomValid"] is True
    assert cli("attach", "--kind", "poem", "--file", str(sbom), target).code == 1
    missing = cli.doc("referrers", f"s3://{bucket}/no/such/key", expect=2)
    assert missing["error"]["family"] == "NotFound"
