"""MinIO mc (github.com/minio/mc at v0.0.0-20250313080218-cf909e1063a9, what ``@latest``
resolves to on the module proxy; minio-go v7.0.88), with the alias from ``MC_HOST_gw`` and the
gateway's CA in its ``--config-dir``'s ``certs/CAs``. ``mc cp`` uploads anything above 16 MiB
in 16 MiB parts (minio-go's minimum part size), 4 at a time; ``--disable-multipart`` makes it
one PUT. Over HTTP it signs every chunk of every body (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``);
over TLS it sends ``UNSIGNED-PAYLOAD``. Downloads are one GET. ``ls --incomplete`` lists
uploads in progress (ListMultipartUploads), ``rm --incomplete`` aborts them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.integration.clients.matrix import (
    MIB,
    ClientScenario,
    GatewayRequests,
    Head,
    Listing,
    Payloads,
    Tool,
    pending_uploads,
    start_upload,
    stored_sha256,
)


class Mc(Tool):
    part_size = 16 * MIB

    def environment(self) -> dict[str, str]:
        cas = self.home / "mc" / "certs" / "CAs"
        cas.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.endpoint.ca_file, cas / "gateway.pem")
        scheme, host = self.endpoint.url.split("://")
        return {"MC_HOST_gw": f"{scheme}://{ACCESS_KEY}:{SECRET_KEY}@{host}"}

    def mc(self, *args: object) -> str:
        return self.run(self.exe, "--config-dir", self.home / "mc", "--no-color", *args)

    def mb(self, bucket: str) -> None:
        self.mc("mb", f"gw/{bucket}")

    def put(self, bucket: str, key: str, path: Path) -> None:
        self.mc("cp", path, f"gw/{bucket}/{key}")

    def get(self, bucket: str, key: str, path: Path) -> None:
        self.mc("cp", f"gw/{bucket}/{key}", path)

    def head(self, bucket: str, key: str) -> Head:
        [found] = self.run_json_lines(
            self.exe, "--config-dir", self.home / "mc", "--json", "stat", f"gw/{bucket}/{key}"
        )
        return Head(found["size"], found["etag"])

    def ls(self, bucket: str, prefix: str) -> Listing:
        entries = self.run_json_lines(
            self.exe, "--config-dir", self.home / "mc", "--json", "ls", f"gw/{bucket}/{prefix}"
        )
        return Listing(
            frozenset(prefix + e["key"] for e in entries if e["type"] == "file"),
            frozenset(prefix + e["key"] for e in entries if e["type"] == "folder"),
        )

    def presign(self, bucket: str, key: str) -> str:
        [found] = self.run_json_lines(
            self.exe,
            "--config-dir",
            self.home / "mc",
            "--json",
            "share",
            "download",
            "--expire",
            "10m",
            f"gw/{bucket}/{key}",
        )
        return str(found["share"])

    def rm(self, bucket: str, key: str) -> None:
        self.mc("rm", f"gw/{bucket}/{key}")

    def rm_all(self, bucket: str, keys: tuple[str, ...]) -> None:
        self.mc("rm", *(f"gw/{bucket}/{key}" for key in keys))

    def rb(self, bucket: str) -> None:
        self.mc("rb", f"gw/{bucket}")


class TestMc(ClientScenario):
    client = "mc"
    tool_class = Mc

    def mc_debug(self, tool: Mc, *args: object) -> str:
        return tool.execute(
            tool.exe, "--config-dir", tool.home / "mc", "--no-color", "--debug", *args
        ).stderr

    def test_multipart_upload_signing(
        self, tool: Mc, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        debug = self.mc_debug(tool, "cp", payloads.large.path, f"gw/{spare_bucket}/d.bin")
        assert f"POST /{spare_bucket}/d.bin?uploads= " in debug
        for number in (1, 2):
            assert f"PUT /{spare_bucket}/d.bin?partNumber={number}&uploadId=" in debug
        if tool.endpoint.https:
            assert debug.count("X-Amz-Content-Sha256: UNSIGNED-PAYLOAD") >= 2
        else:
            assert debug.count("X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == 2
            assert f"X-Amz-Decoded-Content-Length: {tool.part_size}" in debug
            last = payloads.large.size - tool.part_size
            assert f"X-Amz-Decoded-Content-Length: {last}" in debug
        assert stored_sha256(matrix_s3, spare_bucket, "d.bin") == payloads.large.sha256

    def test_disable_multipart_is_one_put(
        self, tool: Mc, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        with GatewayRequests(tool.endpoint) as requests:
            debug = self.mc_debug(
                tool, "cp", "--disable-multipart", payloads.large.path, f"gw/{spare_bucket}/one.bin"
            )
        writes = [r for r in requests.on(spare_bucket, "one.bin") if r.method in {"PUT", "POST"}]
        assert [(r.method, r.query, r.status) for r in writes] == [("PUT", "", 200)]
        if tool.endpoint.https:
            assert "X-Amz-Content-Sha256: UNSIGNED-PAYLOAD" in debug
        else:
            assert "X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD" in debug
            assert f"X-Amz-Decoded-Content-Length: {payloads.large.size}" in debug
        head = matrix_s3.head_object(Bucket=spare_bucket, Key="one.bin")
        assert head["ETag"] == f'"{payloads.large.md5}"'
        assert stored_sha256(matrix_s3, spare_bucket, "one.bin") == payloads.large.sha256

    def test_list_and_remove_incomplete_uploads(
        self, tool: Mc, spare_bucket: str, matrix_s3: Any
    ) -> None:
        start_upload(matrix_s3, spare_bucket, "pending/one.bin")
        start_upload(matrix_s3, spare_bucket, "pending/two.bin")
        listed = tool.run_json_lines(
            tool.exe,
            "--config-dir",
            tool.home / "mc",
            "--json",
            "ls",
            "--incomplete",
            "--recursive",
            f"gw/{spare_bucket}",
        )
        assert sorted(entry["key"] for entry in listed) == ["pending/one.bin", "pending/two.bin"]
        tool.mc("rm", "--incomplete", "--recursive", "--force", f"gw/{spare_bucket}/pending/")
        assert pending_uploads(matrix_s3, spare_bucket) == []
