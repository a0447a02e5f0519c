"""The SDK test programs (js/s3client.mjs, go/main.go) as a :class:`Tool`: one operation per
run, JSON out, with the headers each request was sent with (``sent``); and
:class:`SdkScenario`, the scenario with the SDKs' multipart checksum checked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.integration.clients.matrix import (
    LARGE_KEY,
    LARGE_SIZE,
    MIB,
    PART_MIB,
    ClientScenario,
    Head,
    Listing,
    Payload,
    Tool,
    aws_credentials,
    composite_crc32,
    part_count,
    query_names,
)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
LARGE_PARTS = part_count(LARGE_SIZE, PART_MIB * MIB)


class SdkProgram(Tool):
    part_size = PART_MIB * MIB

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[dict[str, str]] = []  # every request the program sent, in order

    def command(self) -> list[object]:
        return [self.exe]

    def environment(self) -> dict[str, str]:
        return {
            **aws_credentials(),
            "S3_ENDPOINT": self.endpoint.url,
            "AWS_CONFIG_FILE": str(self.home / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "no-credentials"),
        }

    def call(self, *args: object) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.run(*self.command(), *args))
        self.sent += result.pop("sent")
        return result

    def uploads(self) -> list[dict[str, str]]:
        """What each PUT with a body was sent with."""
        return [
            sent
            for sent in self.sent
            if sent["method"] == "PUT" and sent.get("x-amz-content-sha256") != EMPTY_SHA256
        ]

    def mb(self, bucket: str) -> None:
        self.call("mb", bucket)

    def put(self, bucket: str, key: str, path: Path) -> None:
        self.call("put", bucket, key, path)

    def put_large(self, bucket: str, key: str, path: Path) -> None:
        # lib-storage Upload / feature/s3/manager Uploader (their default part size and
        # concurrency): a multipart upload above the part size, one PutObject below it.
        self.call("upload", bucket, key, path, PART_MIB)

    def get(self, bucket: str, key: str, path: Path) -> None:
        self.call("get", bucket, key, path)

    def head(self, bucket: str, key: str) -> Head:
        found = self.call("head", bucket, key)
        return Head(found["size"], found["etag"].strip('"'))

    def ls(self, bucket: str, prefix: str) -> Listing:
        found = self.call("ls", bucket, prefix, "/")
        return Listing(frozenset(found["keys"]), frozenset(found["prefixes"]))

    def presign(self, bucket: str, key: str) -> str:
        return str(self.call("presign", bucket, key)["url"])

    def rm(self, bucket: str, key: str) -> None:
        self.call("rm", bucket, key)

    def rb(self, bucket: str) -> None:
        self.call("rb", bucket)


class SdkScenario(ClientScenario):
    """lib-storage and the Go upload manager name CRC32 in CreateMultipartUpload and send each
    part's CRC32: the object's checksum is the COMPOSITE CRC32 of the parts."""

    def check_large_upload(self, matrix_s3: Any, bucket: str, payload: Payload) -> None:
        head = matrix_s3.head_object(Bucket=bucket, Key=LARGE_KEY, ChecksumMode="ENABLED")
        assert head["ChecksumType"] == "COMPOSITE"
        assert head["ChecksumCRC32"] == composite_crc32(payload.path, SdkProgram.part_size)

    def test_large_upload_requests(self, tool: SdkProgram) -> None:
        """One CreateMultipartUpload naming CRC32, then each part with its CRC32."""
        creates = [sent for sent in tool.sent if "uploads" in query_names(sent["query"])]
        assert [sent["method"] for sent in creates] == ["POST"]
        assert creates[0]["x-amz-checksum-algorithm"] == "CRC32"
        parts = [sent for sent in tool.sent if "partNumber" in query_names(sent["query"])]
        assert len(parts) == LARGE_PARTS
        for sent in parts:
            assert sent["method"] == "PUT"
            assert sent["x-amz-sdk-checksum-algorithm"] == "CRC32"
