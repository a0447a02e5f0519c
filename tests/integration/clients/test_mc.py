"""MinIO mc (github.com/minio/mc at v0.0.0-20250313080218-cf909e1063a9, what ``@latest``
resolves to on the module proxy; minio-go v7.0.88), with the alias from ``MC_HOST_gw`` and the
gateway's CA in its ``--config-dir``'s ``certs/CAs``. A plain ``mc cp`` of 20 MiB starts a
multipart upload (``POST ?uploads``, 501 here): ``cp --disable-multipart``. Over HTTP it signs
every chunk (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``); over TLS it sends ``UNSIGNED-PAYLOAD``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.integration.clients.matrix import (
    ClientScenario,
    Head,
    Listing,
    Payloads,
    Tool,
    stored_sha256,
)


class Mc(Tool):
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
        self.mc("cp", "--disable-multipart", path, f"gw/{bucket}/{key}")

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

    def test_upload_signing(
        self, tool: Mc, spare_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        debug = tool.execute(
            tool.exe,
            "--config-dir",
            tool.home / "mc",
            "--debug",
            "cp",
            "--disable-multipart",
            payloads.large.path,
            f"gw/{spare_bucket}/d.bin",
        ).stderr
        if tool.endpoint.https:
            assert "X-Amz-Content-Sha256: UNSIGNED-PAYLOAD" in debug
        else:
            assert "X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD" in debug
            assert f"X-Amz-Decoded-Content-Length: {payloads.large.size}" in debug
        assert stored_sha256(matrix_s3, spare_bucket, "d.bin") == payloads.large.sha256
