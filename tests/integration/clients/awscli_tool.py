"""aws-cli (v2 from PyPI, Debian's 2.9) as a :class:`Tool`: ``s3`` for transfers, ``s3api`` for
exact heads and listings, and :class:`AwsCliScenario`, the scenario with aws-cli's own
multipart tests. Shared by test_awscli_v2.py and test_awscli_debian.py.

``s3 cp`` keeps aws-cli's defaults: ``multipart_threshold`` and ``multipart_chunksize`` of 8 MiB,
so the large object goes up in 8 MiB parts and comes down in 8 MiB ranged GETs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.integration.clients.matrix import (
    MIB,
    ClientScenario,
    GatewayRequests,
    Head,
    Listing,
    Payloads,
    Tool,
    assert_multipart_upload,
    aws_credentials,
    multipart_etag,
    part_count,
    stored_sha256,
)

CHUNK = 8 * MIB  # aws-cli's default multipart_threshold and multipart_chunksize


class AwsCli(Tool):
    extra_config = ""
    part_size = CHUNK
    ranged_get = True

    def environment(self) -> dict[str, str]:
        config = self.home / "aws-config"
        config.write_text(
            "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n" + self.extra_config
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


class AwsCliScenario(ClientScenario):
    """The matrix scenario, and ``s3 cp`` between two keys of the gateway."""

    def test_cp_large_between_keys_is_upload_part_copy(
        self, tool: AwsCli, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        """Above the threshold a copy is CreateMultipartUpload, UploadPartCopy of each 8 MiB
        range of the source, CompleteMultipartUpload. ``--copy-props metadata-directive``: the
        default (``default``) first reads the source's tags, and GetObjectTagging answers 501
        NotImplemented here."""
        source = matrix_s3.put_object(
            Bucket=spare_bucket, Key="copy/source.bin", Body=payloads.large.path.read_bytes()
        )
        assert source["ETag"] == f'"{payloads.large.md5}"'
        with GatewayRequests(tool.endpoint) as requests:
            tool.aws(
                "s3",
                "cp",
                "--no-progress",
                "--copy-props",
                "metadata-directive",
                f"s3://{spare_bucket}/copy/source.bin",
                f"s3://{spare_bucket}/copy/target.bin",
            )
        parts = part_count(payloads.large.size, CHUNK)
        assert_multipart_upload(requests.on(spare_bucket, "copy/target.bin"), parts, requests.notes)
        head = matrix_s3.head_object(Bucket=spare_bucket, Key="copy/target.bin")
        assert head["ETag"] == multipart_etag(payloads.large.path, CHUNK)
        assert head["ContentLength"] == payloads.large.size
        assert stored_sha256(matrix_s3, spare_bucket, "copy/target.bin") == payloads.large.sha256
