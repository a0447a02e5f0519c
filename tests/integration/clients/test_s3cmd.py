"""s3cmd 2.4.0 (PyPI). Files above ``multipart_chunk_size_mb`` (default 15) go multipart, one
part at a time, in parts of that size: the matrix sets 5. Uploads are SigV4 with a hex SHA-256
payload (and s3cmd's ``x-amz-meta-s3cmd-attrs``, with the whole file's MD5 that ``info`` shows
for a multipart object); downloads are one GET; ``signurl`` presigns with SigV2 query
parameters (``AWSAccessKeyId``/``Expires``/``Signature``), over https only with
``signurl_use_https``. ``multipart``, ``listmp`` and ``abortmp`` list uploads in progress, list
an upload's parts and abort it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.integration.clients.matrix import (
    MIB,
    PART_MIB,
    ClientScenario,
    Head,
    Listing,
    Tool,
    pending_uploads,
    start_upload,
)


class S3cmd(Tool):
    part_size = PART_MIB * MIB
    md5_in_metadata = True

    def environment(self) -> dict[str, str]:
        https = self.endpoint.https
        (self.home / "s3cfg").write_text(
            "[default]\n"
            f"access_key = {ACCESS_KEY}\n"
            f"secret_key = {SECRET_KEY}\n"
            f"host_base = {self.endpoint.host}\n"
            f"host_bucket = {self.endpoint.host}\n"  # no %(bucket)s: path style
            "bucket_location = us-east-1\n"
            f"use_https = {https}\n"
            f"signurl_use_https = {https}\n"
            "check_ssl_certificate = True\n"
            f"ca_certs_file = {self.endpoint.ca_file if https else ''}\n"
            f"multipart_chunk_size_mb = {PART_MIB}\n"
            "max_retries = 0\n"
            "progress_meter = False\n"
        )
        return {}

    def s3cmd(self, *args: object) -> str:
        return self.run(self.exe, "--config", self.home / "s3cfg", *args)

    def mb(self, bucket: str) -> None:
        self.s3cmd("mb", f"s3://{bucket}")

    def put(self, bucket: str, key: str, path: Path) -> None:
        self.s3cmd("put", path, f"s3://{bucket}/{key}")

    def get(self, bucket: str, key: str, path: Path) -> None:
        self.s3cmd("get", "--force", f"s3://{bucket}/{key}", path)

    def head(self, bucket: str, key: str) -> Head:
        info = self.s3cmd("info", f"s3://{bucket}/{key}")
        size = re.search(r"File size:\s+(\d+)", info)
        md5 = re.search(r"MD5 sum:\s+([0-9a-f]{32})", info)
        assert size, info
        assert md5, info
        return Head(int(size.group(1)), md5.group(1))

    def ls(self, bucket: str, prefix: str) -> Listing:
        base = f"s3://{bucket}/"
        keys, prefixes = set(), set()
        for line in self.s3cmd("ls", base + prefix).splitlines():
            fields = line.split()
            if fields[-2:-1] == ["DIR"]:
                prefixes.add(fields[-1].removeprefix(base))
            elif fields:
                keys.add(fields[-1].removeprefix(base))
        return Listing(frozenset(keys), frozenset(prefixes))

    def presign(self, bucket: str, key: str) -> str:
        return self.s3cmd("signurl", f"s3://{bucket}/{key}", "+600").strip()

    def rm(self, bucket: str, key: str) -> None:
        self.s3cmd("del", f"s3://{bucket}/{key}")

    def rm_all(self, bucket: str, keys: tuple[str, ...]) -> None:
        self.s3cmd("del", *(f"s3://{bucket}/{key}" for key in keys))

    def rb(self, bucket: str) -> None:
        self.s3cmd("rb", f"s3://{bucket}")


class TestS3cmd(ClientScenario):
    client = "s3cmd"
    tool_class = S3cmd

    def test_version(self, tool: S3cmd) -> None:
        assert tool.s3cmd("--version").strip() == "s3cmd version 2.4.0"

    def test_signurl_is_sigv2(self, tool: S3cmd, spare_bucket: str) -> None:
        url = tool.presign(spare_bucket, "any")
        assert "AWSAccessKeyId=" in url
        assert "Signature=" in url
        assert "X-Amz-Signature" not in url

    def test_list_and_abort_an_incomplete_upload(
        self, tool: S3cmd, spare_bucket: str, matrix_s3: Any
    ) -> None:
        key = "pending/upload.bin"
        upload_id, parts = start_upload(matrix_s3, spare_bucket, key)
        listed = tool.s3cmd("multipart", f"s3://{spare_bucket}")
        assert f"s3://{spare_bucket}/{key}\t{upload_id}" in listed
        rows = [
            line.split("\t")[1:]
            for line in tool.s3cmd("listmp", f"s3://{spare_bucket}/{key}", upload_id).splitlines()
            if not line.startswith("LastModified")
        ]
        assert rows == [
            [str(number), f'"{hashlib.md5(body).hexdigest()}"', str(len(body))]
            for number, body in enumerate(parts, 1)
        ]
        tool.s3cmd("abortmp", f"s3://{spare_bucket}/{key}", upload_id)
        assert pending_uploads(matrix_s3, spare_bucket) == []
