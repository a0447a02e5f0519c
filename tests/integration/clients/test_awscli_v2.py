"""aws-cli v2 (2.38.5, from the PyPI wheel aws-cdk-asset-awscli-v2==2.0.198).

Its ``s3`` transfers go through the CRT S3 client: aws-chunked bodies
(``STREAMING-UNSIGNED-PAYLOAD-TRAILER``) with a CRC64NVME trailer, over HTTP too; above the
8 MiB threshold a multipart upload whose CreateMultipartUpload names CRC64NVME, each part with
its trailer, the object's checksum a full-object CRC64NVME. ``s3api`` goes through its
botocore: a CRC64NVME header over HTTP, aws-chunked with a trailer over TLS.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from awscrt.checksums import crc64nvme

from tests.integration.clients.awscli_tool import CHUNK, AwsCli, AwsCliScenario
from tests.integration.clients.matrix import (
    GatewayRequests,
    Payloads,
    assert_multipart_upload,
    multipart_etag,
    part_count,
    stored_sha256,
)


class AwsCliV2(AwsCli):
    # "auto" resolves to the CRT client here ("Auto resolved s3 transfer client to: crt"), but
    # falls back to the classic one while another aws-cli process holds the CRT: pinned.
    extra_config = "  preferred_transfer_client = crt\n"


class TestAwsCliV2(AwsCliScenario):
    client = "awscli-v2"
    tool_class = AwsCliV2

    def test_version(self, tool: AwsCliV2) -> None:
        assert tool.run(tool.exe, "--version").startswith("aws-cli/2.38.5 ")

    def test_cp_sends_aws_chunked_with_crc64nvme_trailer(
        self, tool: AwsCliV2, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        with GatewayRequests(tool.endpoint) as requests:
            log = tool.debug(
                "s3", "cp", "--no-progress", payloads.large.path, f"s3://{spare_bucket}/crt.bin"
            ).stderr
        parts = part_count(payloads.large.size, CHUNK)
        assert_multipart_upload(requests.on(spare_bucket, "crt.bin"), parts, requests.notes)
        assert "Using CRT throughput target" in log
        assert "x-amz-checksum-algorithm:CRC64NVME" in log  # CreateMultipartUpload
        assert "content-encoding:aws-chunked" in log
        assert "x-amz-content-sha256:STREAMING-UNSIGNED-PAYLOAD-TRAILER" in log
        assert "x-amz-trailer:x-amz-checksum-crc64nvme" in log
        assert f"x-amz-mp-object-size:{payloads.large.size}" in log  # CompleteMultipartUpload
        assert stored_sha256(matrix_s3, spare_bucket, "crt.bin") == payloads.large.sha256
        head = matrix_s3.head_object(Bucket=spare_bucket, Key="crt.bin", ChecksumMode="ENABLED")
        assert head["ETag"] == multipart_etag(payloads.large.path, CHUNK)
        assert head["ChecksumType"] == "FULL_OBJECT"
        whole = crc64nvme(payloads.large.path.read_bytes()).to_bytes(8, "big")
        assert head["ChecksumCRC64NVME"] == base64.b64encode(whole).decode()

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
