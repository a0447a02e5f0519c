"""aws-sdk-go-v2 (service/s3 v1.114.8, feature/s3/manager v1.23.21): go/main.go, built with
``go build`` from go/go.mod and go.sum.

PutObject with a file: a CRC32 header and a signed SHA-256 payload over HTTP; aws-chunked with a
CRC32 trailer (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``) over TLS. The upload manager (5 MiB
parts, 5 at a time) frames its parts the same way; the download manager fetches 5 MiB ranges.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.clients.matrix import MIB, PART_MIB
from tests.integration.clients.sdk_tool import LARGE_PARTS, SdkProgram, SdkScenario


class GoSdk(SdkProgram):
    ranged_get = True

    def environment(self) -> dict[str, str]:
        env = super().environment()
        if self.endpoint.https:
            env["AWS_CA_BUNDLE"] = str(self.endpoint.ca_file)
        return env

    def get_large(self, bucket: str, key: str, path: Path) -> None:
        self.call("download", bucket, key, path, PART_MIB)


class TestGoSdk(SdkScenario):
    client = "go-sdk"
    tool_class = GoSdk

    def test_upload_modes(self, tool: GoSdk) -> None:
        uploads = tool.uploads()
        assert len(uploads) == 2 + LARGE_PARTS  # small, nested small, the large one's parts
        for sent in uploads:
            if tool.endpoint.https:
                assert sent["content-encoding"] == "aws-chunked"
                assert sent["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
                assert sent["x-amz-trailer"] == "x-amz-checksum-crc32"
            else:
                assert "x-amz-checksum-crc32" in sent
                assert len(sent["x-amz-content-sha256"]) == 64

    def test_download_manager_sent_ranges(self, tool: GoSdk) -> None:
        ranges = {sent["range"] for sent in tool.sent if "range" in sent}
        part = PART_MIB * MIB  # the last range runs past the end of the object
        assert ranges == {f"bytes={n * part}-{(n + 1) * part - 1}" for n in range(LARGE_PARTS)}
