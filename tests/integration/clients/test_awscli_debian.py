"""Debian's ``awscli`` package (aws-cli 2.9.19, bookworm), the legacy v2 that distributions
still ship: classic s3transfer, no flexible checksums; Content-MD5 and a hex SHA-256 payload
over HTTP, ``UNSIGNED-PAYLOAD`` over TLS, for each part of a multipart upload too."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from tests.integration.clients.awscli_tool import CHUNK, AwsCli, AwsCliScenario
from tests.integration.clients.matrix import Payloads, stored_sha256


class TestAwsCliDebian(AwsCliScenario):
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

    def test_multipart_parts_payload_signing(
        self, tool: AwsCli, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        log = tool.debug(
            "s3", "cp", "--no-progress", payloads.large.path, f"s3://{spare_bucket}/parts.bin"
        ).stderr
        data = payloads.large.path.read_bytes()
        for at in range(0, len(data), CHUNK):
            part = data[at : at + CHUNK]
            md5 = base64.b64encode(hashlib.md5(part).digest()).decode()
            assert f"'Content-MD5': '{md5}'" in log
            if not tool.endpoint.https:
                assert f"x-amz-content-sha256:{hashlib.sha256(part).hexdigest()}" in log
        if tool.endpoint.https:
            assert log.count("x-amz-content-sha256:UNSIGNED-PAYLOAD") >= len(data) // CHUNK + 1
        assert "x-amz-checksum-" not in log
        assert stored_sha256(matrix_s3, spare_bucket, "parts.bin") == payloads.large.sha256
