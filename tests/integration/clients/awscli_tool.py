"""aws-cli (v2 from PyPI, Debian's 2.9) as a :class:`Tool`: ``s3`` for transfers, ``s3api`` for
exact heads and listings. Shared by test_awscli_v2.py and test_awscli_debian.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.integration.clients.matrix import (
    THRESHOLD_MIB,
    Head,
    Listing,
    Tool,
    aws_credentials,
)


class AwsCli(Tool):
    extra_config = ""

    def environment(self) -> dict[str, str]:
        config = self.home / "aws-config"
        config.write_text(
            "[default]\nregion = us-east-1\ns3 =\n"
            f"  multipart_threshold = {THRESHOLD_MIB}MB\n"
            "  addressing_style = path\n" + self.extra_config
        )
        env = {
            **aws_credentials(),
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "no-credentials"),
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",  # a 5xx must show, not be retried away
        }
        if self.endpoint.https:
            env["AWS_CA_BUNDLE"] = str(self.endpoint.ca_file)
        return env

    def aws(self, *args: object) -> str:
        return self.run(self.exe, "--endpoint-url", self.endpoint.url, *args)

    def debug(self, *args: object) -> subprocess.CompletedProcess[str]:
        """Run with ``--debug``: the log, with the canonical requests, is on stderr."""
        return self.execute(self.exe, "--endpoint-url", self.endpoint.url, "--debug", *args)

    def mb(self, bucket: str) -> None:
        self.aws("s3", "mb", f"s3://{bucket}")

    def put(self, bucket: str, key: str, path: Path) -> None:
        self.aws("s3", "cp", "--no-progress", path, f"s3://{bucket}/{key}")

    def get(self, bucket: str, key: str, path: Path) -> None:
        self.aws("s3", "cp", "--no-progress", f"s3://{bucket}/{key}", path)

    def head(self, bucket: str, key: str) -> Head:
        found = json.loads(
            self.aws("s3api", "head-object", "--bucket", bucket, "--key", key, "--output", "json")
        )
        return Head(found["ContentLength"], found["ETag"].strip('"'))

    def ls(self, bucket: str, prefix: str) -> Listing:
        found = json.loads(
            self.aws(
                "s3api",
                "list-objects-v2",
                "--bucket",
                bucket,
                "--prefix",
                prefix,
                "--delimiter",
                "/",
                "--output",
                "json",
            )
        )
        return Listing(
            frozenset(item["Key"] for item in found.get("Contents", [])),
            frozenset(item["Prefix"] for item in found.get("CommonPrefixes", [])),
        )

    def presign(self, bucket: str, key: str) -> str:
        return self.aws("s3", "presign", f"s3://{bucket}/{key}", "--expires-in", "600").strip()

    def rm(self, bucket: str, key: str) -> None:
        self.aws("s3", "rm", f"s3://{bucket}/{key}")

    def rm_all(self, bucket: str, keys: tuple[str, ...]) -> None:
        self.aws("s3", "rm", "--recursive", f"s3://{bucket}/")

    def rb(self, bucket: str) -> None:
        self.aws("s3", "rb", f"s3://{bucket}")
