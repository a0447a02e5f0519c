"""The AWS SDK for JavaScript v3 (@aws-sdk/client-s3, lib-storage, s3-request-presigner
3.1162.0) on Node 20: js/s3client.mjs, installed from js/package-lock.json.

PutObject with a Buffer: a CRC32 header and a signed SHA-256 payload; with a file stream:
aws-chunked, ``Transfer-Encoding: chunked`` (no Content-Length) and a CRC32 trailer
(``STREAMING-UNSIGNED-PAYLOAD-TRAILER``), over HTTP too. lib-storage's Upload of a file stream
(5 MiB parts, 4 at a time): each part a Buffer, so a CRC32 header and a signed SHA-256 payload.
"""

from __future__ import annotations

import shutil
from typing import Any

from tests.integration.clients.matrix import Payloads, stored_sha256
from tests.integration.clients.sdk_tool import LARGE_PARTS, SdkProgram, SdkScenario


class JsSdk(SdkProgram):
    def command(self) -> list[object]:
        # --no-warnings: the SDK warns on stderr that releases after January 2027 need Node 22
        return [shutil.which("node") or "node", "--no-warnings", self.exe]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        if self.endpoint.https:
            env["NODE_EXTRA_CA_CERTS"] = str(self.endpoint.ca_file)
        return env


class TestJsSdk(SdkScenario):
    client = "js-sdk"
    tool_class = JsSdk

    def test_buffer_puts_sent_crc32_and_signed_sha256(self, tool: JsSdk) -> None:
        uploads = tool.uploads()
        assert len(uploads) == 2 + LARGE_PARTS  # small, nested small, the large one's parts
        for sent in uploads:
            assert sent["x-amz-sdk-checksum-algorithm"] == "CRC32"
            assert "x-amz-checksum-crc32" in sent
            assert len(sent["x-amz-content-sha256"]) == 64

    def test_stream_put_is_aws_chunked_with_crc32_trailer(
        self, tool: JsSdk, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        tool.call("put-stream", spare_bucket, "stream.bin", payloads.large.path)
        sent = tool.uploads()[-1]
        assert sent["content-encoding"] == "aws-chunked"
        assert sent["transfer-encoding"] == "chunked"
        assert "content-length" not in sent
        assert sent["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        assert sent["x-amz-trailer"] == "x-amz-checksum-crc32"
        assert sent["x-amz-decoded-content-length"] == str(payloads.large.size)
        assert stored_sha256(matrix_s3, spare_bucket, "stream.bin") == payloads.large.sha256
