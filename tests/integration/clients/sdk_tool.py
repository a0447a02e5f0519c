"""The SDK test programs (js/s3client.mjs, go/main.go) as a :class:`Tool`: one operation per
run, JSON out, with the headers each request was sent with (``sent``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.integration.clients.matrix import (
    THRESHOLD_MIB,
    Head,
    Listing,
    Tool,
    aws_credentials,
)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class SdkProgram(Tool):
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
        # lib-storage Upload / feature/s3/manager Uploader: one PutObject below the part size.
        self.call("upload", bucket, key, path, THRESHOLD_MIB)

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
