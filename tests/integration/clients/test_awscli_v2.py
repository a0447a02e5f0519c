"""aws-cli v2 (2.38.5, from the PyPI wheel aws-cdk-asset-awscli-v2==2.0.198).

Its ``s3`` transfers go through the CRT S3 client: aws-chunked bodies
(``STREAMING-UNSIGNED-PAYLOAD-TRAILER``) with a CRC64NVME trailer, over HTTP too; ``s3api``
goes through its botocore: a CRC64NVME header over HTTP, aws-chunked with a trailer over TLS.
"""

from __future__ import annotations

import json
from typing import Any

from tests.integration.clients.awscli_tool import AwsCli
from tests.integration.clients.matrix import ClientScenario, Payloads, stored_sha256


class AwsCliV2(AwsCli):
    # "auto" resolves to the CRT client here ("Auto resolved s3 transfer client to: crt"), but
    # falls back to the classic one while another aws-cli process holds the CRT: pinned.
    extra_config = "  preferred_transfer_client = crt\n"


class TestAwsCliV2(ClientScenario):
    client = "awscli-v2"
    tool_class = AwsCliV2

    def test_version(self, tool: AwsCliV2) -> None:
        assert tool.run(tool.exe, "--version").startswith("aws-cli/2.38.5 ")

    def test_cp_sends_aws_chunked_with_crc64nvme_trailer(
        self, tool: AwsCliV2, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        log = tool.debug(
            "s3", "cp", "--no-progress", payloads.large.path, f"s3://{spare_bucket}/crt.bin"
        ).stderr
        assert "Using CRT throughput target" in log
        assert "content-encoding:aws-chunked" in log
        assert "x-amz-content-sha256:STREAMING-UNSIGNED-PAYLOAD-TRAILER" in log
        assert "x-amz-trailer:x-amz-checksum-crc64nvme" in log
        assert stored_sha256(matrix_s3, spare_bucket, "crt.bin") == payloads.large.sha256
        head = matrix_s3.head_object(Bucket=spare_bucket, Key="crt.bin", ChecksumMode="ENABLED")
        assert head["ChecksumCRC64NVME"]

    def test_s3api_put_object_sends_crc64nvme(
        self, tool: AwsCliV2, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        done = tool.debug(
            "s3api",
            "put-object",
            "--bucket",
            spare_bucket,
            "--key",
            "api.bin",
            "--body",
            payloads.small.path,
            "--output",
            "json",
        )
        assert "x-amz-sdk-checksum-algorithm:CRC64NVME" in done.stderr
        if tool.endpoint.https:
            assert "x-amz-content-sha256:STREAMING-UNSIGNED-PAYLOAD-TRAILER" in done.stderr
            assert "x-amz-trailer:x-amz-checksum-crc64nvme" in done.stderr
        else:
            assert f"x-amz-content-sha256:{payloads.small.sha256}" in done.stderr
            assert "x-amz-checksum-crc64nvme:" in done.stderr
        sent = json.loads(done.stdout)
        assert sent["ETag"] == f'"{payloads.small.md5}"'
        head = matrix_s3.head_object(Bucket=spare_bucket, Key="api.bin", ChecksumMode="ENABLED")
        assert head["ChecksumCRC64NVME"] == sent["ChecksumCRC64NVME"]
        assert stored_sha256(matrix_s3, spare_bucket, "api.bin") == payloads.small.sha256

    def test_listing_names_the_upload_checksum(
        self, tool: AwsCliV2, spare_bucket: str, payloads: Payloads
    ) -> None:
        tool.put(spare_bucket, "listed.bin", payloads.small.path)
        found = json.loads(
            tool.aws(
                "s3api",
                "list-objects-v2",
                "--bucket",
                spare_bucket,
                "--prefix",
                "listed.bin",
                "--output",
                "json",
            )
        )
        assert [item["ChecksumAlgorithm"] for item in found["Contents"]] == [["CRC64NVME"]]
