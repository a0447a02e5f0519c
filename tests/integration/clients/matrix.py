"""The client matrix's one scenario, run by every real S3 client against the real gateway.

Each ``test_<client>.py`` gives a :class:`Tool` (how that client makes a bucket, puts, gets,
heads, lists, presigns, deletes) and subclasses :class:`ClientScenario`, whose tests run in
order over plain HTTP and over HTTPS (the ``transport`` parameter, class-scoped). Everything a
client does is checked independently with boto3 (stored bytes, listings, bucket existence)
and by value (SHA-256 of what comes back, sizes, MD5 ETags, presigned GETs fetched with curl).

Clients are installed by ``scripts/clients/install.sh`` (cached); one that cannot be
installed fails its tests, it never skips them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY

ROOT = Path(__file__).resolve().parents[3]
INSTALL = ROOT / "scripts" / "clients" / "install.sh"

SMALL_SIZE = 5 * 1024 + 123  # a few KiB
LARGE_SIZE = 20 * 1024 * 1024  # above every client's default multipart threshold but rclone's
THRESHOLD_MIB = 64  # what the matrix raises multipart thresholds to (no multipart yet)
SMALL_KEY = "docs/small.txt"
NESTED_KEY = "docs/nested/small.txt"
LARGE_KEY = "blobs/large.bin"

_installed: dict[str, Path | str] = {}


def installed(client: str) -> Path:
    """The client's executable, installed on first use; a failed install fails the test."""
    if client not in _installed:
        result = subprocess.run(
            ["bash", str(INSTALL), client],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        lines = result.stdout.strip().splitlines()
        if result.returncode == 0 and lines and Path(lines[-1]).exists():
            _installed[client] = Path(lines[-1])
        else:
            _installed[client] = (
                f"scripts/clients/install.sh {client} exited {result.returncode}:\n"
                f"{result.stderr[-3000:]}"
            )
    found = _installed[client]
    if isinstance(found, str):
        pytest.fail(found, pytrace=False)
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Payload:
    path: Path
    sha256: str
    md5: str
    size: int

    @classmethod
    def write(cls, path: Path, size: int) -> Payload:
        data = os.urandom(size)
        path.write_bytes(data)
        return cls(path, hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), size)


@dataclass(frozen=True)
class Payloads:
    small: Payload
    large: Payload


@dataclass(frozen=True)
class Endpoint:
    transport: str  # "http" or "https"
    url: str
    ca_file: Path
    gateway_log: Path

    @property
    def https(self) -> bool:
        return self.transport == "https"

    @property
    def host(self) -> str:
        """``127.0.0.1:port``."""
        return self.url.split("://", 1)[1]


@dataclass(frozen=True)
class Head:
    size: int
    etag: str | None  # hex MD5 without quotes, when the client shows it


@dataclass(frozen=True)
class Listing:
    keys: frozenset[str]
    prefixes: frozenset[str]


def clean_env(home: Path) -> dict[str, str]:
    """The test process's environment without any S3 client's own settings, HOME in ``home``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "RCLONE_", "MC_", "S3CMD", "S5CMD", "SSL_CERT", "NODE_"))
    }
    env["HOME"] = str(home)
    return env


def aws_credentials() -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


class Tool:
    """One client against one endpoint: the scenario's operations, by running the client."""

    def __init__(self, exe: Path, endpoint: Endpoint, home: Path) -> None:
        self.exe, self.endpoint, self.home = exe, endpoint, home
        self.env = clean_env(home) | self.environment()

    def environment(self) -> dict[str, str]:
        return {}

    def run(self, *args: object, timeout: float = 120) -> str:
        return self.execute(*args, timeout=timeout).stdout

    def execute(self, *args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the client; a non-zero exit fails the test with its output and the gateway's."""
        command = [str(arg) for arg in args]
        result = subprocess.run(
            command,
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            log = self.endpoint.gateway_log.read_text(errors="replace").splitlines()[-30:]
            pytest.fail(
                f"{shlex.join(command)} exited {result.returncode}\n"
                f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-4000:]}\n"
                "gateway log (tail):\n" + "\n".join(log),
                pytrace=False,
            )
        return result

    def run_json_lines(self, *args: object) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.run(*args).splitlines() if line.strip()]

    # The scenario's operations -------------------------------------------------------------
    def mb(self, bucket: str) -> None:
        raise NotImplementedError

    def put(self, bucket: str, key: str, path: Path) -> None:
        raise NotImplementedError

    def put_large(self, bucket: str, key: str, path: Path) -> None:
        """The ~20 MiB upload, with the client's multipart threshold raised where needed."""
        self.put(bucket, key, path)

    def get(self, bucket: str, key: str, path: Path) -> None:
        raise NotImplementedError

    def head(self, bucket: str, key: str) -> Head:
        raise NotImplementedError

    def ls(self, bucket: str, prefix: str) -> Listing:
        """List ``prefix`` ("" or ending in "/") with delimiter "/"."""
        raise NotImplementedError

    def presign(self, bucket: str, key: str) -> str:
        raise NotImplementedError

    def rm(self, bucket: str, key: str) -> None:
        raise NotImplementedError

    def rm_all(self, bucket: str, keys: tuple[str, ...]) -> None:
        """Delete ``keys`` (all the bucket holds): one call where the client takes several."""
        for key in keys:
            self.rm(bucket, key)

    def rb(self, bucket: str) -> None:
        raise NotImplementedError


def stored_sha256(s3: Any, bucket: str, key: str) -> str:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return hashlib.sha256(body).hexdigest()


def keys_in(s3: Any, bucket: str) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def empty_and_remove(s3: Any, bucket: str) -> None:
    try:
        for key in keys_in(s3, bucket):
            s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchBucket":
            raise


def curl(url: str, endpoint: Endpoint, out: Path) -> int:
    """GET ``url`` with curl (no credentials of its own), trusting the gateway's CA."""
    tls = ["--cacert", str(endpoint.ca_file)] if endpoint.https else []
    result = subprocess.run(
        ["curl", "-sS", "-o", str(out), "-w", "%{http_code}", *tls, url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


class ClientScenario:
    """The matrix scenario; subclasses name the client and its :class:`Tool`.

    The tests run in this order on one bucket per transport: later steps use what earlier
    ones stored.
    """

    client: ClassVar[str]  # the name scripts/clients/install.sh knows it by
    tool_class: ClassVar[type[Tool]]
    transports: ClassVar[tuple[str, ...]] = ("http", "https")

    @pytest.fixture(scope="class")
    @classmethod
    def tool(
        cls, transport: str, matrix_gateway: Any, tmp_path_factory: pytest.TempPathFactory
    ) -> Tool:
        exe = installed(cls.client)
        home = tmp_path_factory.mktemp(f"{cls.client}-{transport}")
        return cls.tool_class(exe, matrix_gateway.endpoint(transport), home)

    @pytest.fixture(scope="class")
    @classmethod
    def scenario_bucket(cls, tool: Tool, matrix_s3: Any) -> Any:
        name = f"m-{cls.client}-{tool.endpoint.transport}-{os.urandom(3).hex()}"
        yield name
        empty_and_remove(matrix_s3, name)

    @pytest.fixture(scope="class")
    @classmethod
    def spare_bucket(cls, tool: Tool, matrix_s3: Any) -> Any:
        """A bucket made with boto3, for a client's own extra tests."""
        name = f"x-{cls.client}-{tool.endpoint.transport}-{os.urandom(3).hex()}"
        matrix_s3.create_bucket(Bucket=name)
        yield name
        empty_and_remove(matrix_s3, name)

    def test_make_bucket(self, tool: Tool, scenario_bucket: str, matrix_s3: Any) -> None:
        tool.mb(scenario_bucket)
        assert scenario_bucket in {b["Name"] for b in matrix_s3.list_buckets()["Buckets"]}

    def test_put_small(
        self, tool: Tool, scenario_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        tool.put(scenario_bucket, SMALL_KEY, payloads.small.path)
        tool.put(scenario_bucket, NESTED_KEY, payloads.small.path)
        for key in (SMALL_KEY, NESTED_KEY):
            assert stored_sha256(matrix_s3, scenario_bucket, key) == payloads.small.sha256

    def test_put_large(
        self, tool: Tool, scenario_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        tool.put_large(scenario_bucket, LARGE_KEY, payloads.large.path)
        assert stored_sha256(matrix_s3, scenario_bucket, LARGE_KEY) == payloads.large.sha256
        head = matrix_s3.head_object(Bucket=scenario_bucket, Key=LARGE_KEY)
        assert head["ETag"] == f'"{payloads.large.md5}"'  # one PUT, not multipart ("-N")

    def test_get_back(self, tool: Tool, scenario_bucket: str, payloads: Payloads) -> None:
        for key, payload in ((SMALL_KEY, payloads.small), (LARGE_KEY, payloads.large)):
            target = tool.home / f"back-{payload.size}.bin"
            target.unlink(missing_ok=True)
            tool.get(scenario_bucket, key, target)
            assert sha256(target) == payload.sha256

    def test_head(self, tool: Tool, scenario_bucket: str, payloads: Payloads) -> None:
        for key, payload in ((SMALL_KEY, payloads.small), (LARGE_KEY, payloads.large)):
            head = tool.head(scenario_bucket, key)
            assert head.size == payload.size
            assert head.etag in (None, payload.md5)

    def test_list_with_prefix_and_delimiter(self, tool: Tool, scenario_bucket: str) -> None:
        assert tool.ls(scenario_bucket, "") == Listing(frozenset(), frozenset({"blobs/", "docs/"}))
        assert tool.ls(scenario_bucket, "docs/") == Listing(
            frozenset({SMALL_KEY}), frozenset({"docs/nested/"})
        )

    def test_presigned_get_with_curl(
        self, tool: Tool, scenario_bucket: str, payloads: Payloads
    ) -> None:
        url = tool.presign(scenario_bucket, LARGE_KEY)
        assert url.startswith(f"{tool.endpoint.url}/"), url
        out = tool.home / "presigned.bin"
        assert curl(url, tool.endpoint, out) == 200, out.read_bytes()[:500]
        assert sha256(out) == payloads.large.sha256

    def test_delete_objects(self, tool: Tool, scenario_bucket: str, matrix_s3: Any) -> None:
        tool.rm_all(scenario_bucket, (SMALL_KEY, NESTED_KEY, LARGE_KEY))
        assert keys_in(matrix_s3, scenario_bucket) == set()

    def test_remove_bucket(self, tool: Tool, scenario_bucket: str, matrix_s3: Any) -> None:
        tool.rb(scenario_bucket)
        with pytest.raises(ClientError) as raised:
            matrix_s3.head_bucket(Bucket=scenario_bucket)
        assert raised.value.response["Error"]["Code"] in {"404", "NoSuchBucket"}
