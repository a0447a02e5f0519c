"""aws-sdk-go-v2 (service/s3 v1.114.8, feature/s3/manager v1.23.21): go/main.go, built with
``go build`` from go/go.mod and go.sum.

PutObject with a file: a CRC32 header and a signed SHA-256 payload over HTTP; aws-chunked with a
CRC32 trailer (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``) over TLS.
"""

from __future__ import annotations

from tests.integration.clients.matrix import ClientScenario
from tests.integration.clients.sdk_tool import SdkProgram


class GoSdk(SdkProgram):
    def environment(self) -> dict[str, str]:
        env = super().environment()
        if self.endpoint.https:
            env["AWS_CA_BUNDLE"] = str(self.endpoint.ca_file)
        return env


class TestGoSdk(ClientScenario):
    client = "go-sdk"
    tool_class = GoSdk

    def test_upload_modes(self, tool: GoSdk) -> None:
        uploads = tool.uploads()
        assert len(uploads) == 3  # small, nested small, large (manager: one PutObject)
        for sent in uploads:
            if tool.endpoint.https:
                assert sent["content-encoding"] == "aws-chunked"
                assert sent["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
                assert sent["x-amz-trailer"] == "x-amz-checksum-crc32"
            else:
                assert "x-amz-checksum-crc32" in sent
                assert len(sent["x-amz-content-sha256"]) == 64
