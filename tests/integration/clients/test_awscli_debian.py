"""Debian's ``awscli`` package (aws-cli 2.9.19, bookworm), the legacy v2 that distributions
still ship: classic s3transfer, no flexible checksums; Content-MD5 and a hex SHA-256 payload
over HTTP, ``UNSIGNED-PAYLOAD`` over TLS."""

from __future__ import annotations

from typing import Any

from tests.integration.clients.awscli_tool import AwsCli
from tests.integration.clients.matrix import ClientScenario, Payloads, stored_sha256


class TestAwsCliDebian(ClientScenario):
    client = "awscli-debian"
    tool_class = AwsCli

    def test_version(self, tool: AwsCli) -> None:
        assert tool.run(tool.exe, "--version").startswith("aws-cli/2.9.19 ")

    def test_cp_payload_signing(
        self, tool: AwsCli, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        log = tool.debug(
            "s3", "cp", "--no-progress", payloads.small.path, f"s3://{spare_bucket}/cp.bin"
        ).stderr
        expected = "UNSIGNED-PAYLOAD" if tool.endpoint.https else payloads.small.sha256
        assert f"x-amz-content-sha256:{expected}" in log
        assert "x-amz-checksum-" not in log
        assert stored_sha256(matrix_s3, spare_bucket, "cp.bin") == payloads.small.sha256
