"""The client matrix's one scenario, run by every real S3 client against the real gateway.

Each ``test_<client>.py`` gives a :class:`Tool` (how that client makes a bucket, puts, gets,
heads, lists, presigns, deletes) and subclasses :class:`ClientScenario`, whose tests run in
order over plain HTTP and over HTTPS (the ``transport`` parameter, class-scoped). Everything a
client does is checked independently with boto3 (stored bytes, listings, bucket existence)
and by value (SHA-256 of what comes back, sizes, MD5 ETags, presigned GETs fetched with curl).

The large object goes through each client's multipart upload (its default threshold where
that splits the object, a lowered one where it would not): the requests the gateway logged
show the Create, the parts and the Complete, and the stored ETag is the multipart ETag of
the client's part size (``"<md5 of the parts' MD5s>-N"``). Clients that download in ranges
(``Tool.ranged_get``) are checked to have done so, every download by SHA-256.

Clients are installed by ``scripts/clients/install.sh`` (cached); one that cannot be
installed fails its tests, it never skips them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
import subprocess
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY

ROOT = Path(__file__).resolve().parents[3]
INSTALL = ROOT / "scripts" / "clients" / "install.sh"

MIB = 1024 * 1024
SMALL_SIZE = 5 * 1024 + 123  # a few KiB
# Several parts at every client's part size (5, 8 and 16 MiB), the last one short.
LARGE_SIZE = 23 * MIB + 12_345
# The part size (MiB) the matrix sets where a client's default would upload the large object in
# one PUT (rclone, s5cmd) or where it is a program's own choice (the SDK programs): S3's
# minimum part size, and lib-storage's and the Go upload manager's default.
PART_MIB = 5
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


def part_count(size: int, part_size: int) -> int:
    return -(-size // part_size)


def multipart_etag(path: Path, part_size: int) -> str:
    """The ETag S3 gives ``path`` uploaded in parts of ``part_size``: quoted
    ``<MD5 of the parts' binary MD5s>-<number of parts>``."""
    data = path.read_bytes()
    digests = [
        hashlib.md5(data[at : at + part_size]).digest() for at in range(0, len(data), part_size)
    ]
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


def composite_crc32(path: Path, part_size: int) -> str:
    """The COMPOSITE CRC32 of ``path`` uploaded in parts of ``part_size``: the CRC32 of the
    parts' CRC32s, base64, ``-<number of parts>``."""
    data = path.read_bytes()
    crcs = [
        zlib.crc32(data[at : at + part_size]).to_bytes(4, "big")
        for at in range(0, len(data), part_size)
    ]
    whole = zlib.crc32(b"".join(crcs)).to_bytes(4, "big")
    return f"{base64.b64encode(whole).decode()}-{len(crcs)}"


@dataclass(frozen=True)
class Endpoint:
    transport: str  # "http" or "https"
    url: str
    ca_file: Path
    gateway_logs: tuple[Path, ...]  # one per gateway behind the endpoint (two on scale-out)

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


@dataclass(frozen=True)
class Request:
    """One request as the gateway's access log shows it."""

    method: str
    path: str
    query: str
    status: int


_ACCESS = '"logger": "gateway.request"'  # the gateway's JSON access line of a request


def _access_lines(text: str) -> list[Request]:
    seen = []
    for line in text.splitlines():
        if _ACCESS in line:
            entry = json.loads(line)
            status = int(entry["status"]) if entry.get("status") is not None else 0
            seen.append(Request(entry["method"], entry["path"], entry.get("query", ""), status))
    return seen


def _settled(log: Path, quiet: float = 0.3, longest: float = 5.0) -> None:
    """Wait until the log has not grown for ``quiet`` seconds (at most ``longest``): a request's
    access line is written once its answer has gone out, so a client may finish first."""
    deadline = time.monotonic() + longest
    size, since = log.stat().st_size, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = log.stat().st_size
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


class GatewayRequests:
    """The requests the gateways logged while the ``with`` block ran (both transports log to
    one file per gateway; the matrix runs one client at a time). Behind a load balancer the
    requests are spread over the gateways' logs, each read in turn: the order of requests
    within one log is kept, across logs it is not."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.logs = endpoint.gateway_logs
        self.starts: list[int] = []
        self.seen: list[Request] = []
        self.notes: list[str] = []

    def __enter__(self) -> GatewayRequests:
        self.starts = [log.stat().st_size for log in self.logs]
        return self

    def __exit__(self, *exc: object) -> None:
        texts = []
        for path, start in zip(self.logs, self.starts, strict=True):
            _settled(path)
            with path.open("rb") as log:
                log.seek(start)
                texts.append(log.read().decode(errors="replace"))
        text = "\n".join(texts)
        self.seen = _access_lines(text)
        # What the gateway said besides its access lines (warnings, tracebacks): the reason
        # behind an unexpected status, for the failure message.
        self.notes = [line for line in text.splitlines() if line and _ACCESS not in line]

    def on(self, bucket: str, key: str) -> list[Request]:
        return [request for request in self.seen if request.path == f"/{bucket}/{key}"]


def query_names(query: str) -> set[str]:
    return {item.split("=", 1)[0] for item in query.split("&") if item}


def assert_multipart_upload(requests: list[Request], parts: int, notes: Sequence[str] = ()) -> None:
    """One CreateMultipartUpload, UploadPart 1..``parts`` and one CompleteMultipartUpload, all
    answered 2xx, and no single PutObject. ``notes``, the gateway's other log lines, go into
    the failure message."""
    creates = [r for r in requests if r.method == "POST" and "uploads" in query_names(r.query)]
    completes = [r for r in requests if r.method == "POST" and "uploadId" in query_names(r.query)]
    puts = [r for r in requests if r.method == "PUT"]
    numbers = sorted(
        int(dict(item.split("=", 1) for item in r.query.split("&"))["partNumber"])
        for r in puts
        if "partNumber" in query_names(r.query)
    )
    summary = "\n".join(
        [f"{r.method} {r.path}?{r.query} {r.status}" for r in requests]
        + (["gateway said:", *notes[-40:]] if notes else [])
    )
    assert len(creates) == 1, summary
    assert numbers == list(range(1, parts + 1)), summary
    assert len(puts) == parts, summary  # no PutObject
    assert len(completes) == 1, summary
    assert all(200 <= r.status < 300 for r in (*creates, *puts, *completes)), summary


def assert_downloaded(requests: list[Request], ranged: bool) -> None:
    """A ranged download: several GETs of the object, each 206; otherwise one GET, 200."""
    gets = [r for r in requests if r.method == "GET"]
    summary = "\n".join(f"{r.method} {r.path}?{r.query} {r.status}" for r in requests)
    if ranged:
        assert len(gets) > 1, summary
        assert {r.status for r in gets} == {206}, summary
    else:
        assert [r.status for r in gets] == [200], summary


class Tool:
    """One client against one endpoint: the scenario's operations, by running the client."""

    # The part size of the client's upload of the large object; whether its download of the
    # large object is ranged GETs; whether its head of a multipart object shows the whole
    # object's MD5, kept in its own metadata at upload, rather than the multipart ETag.
    part_size: ClassVar[int]
    ranged_get: ClassVar[bool] = False
    md5_in_metadata: ClassVar[bool] = False

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
            log = [
                line
                for path in self.endpoint.gateway_logs
                for line in path.read_text(errors="replace").splitlines()[-30:]
            ]
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
        """The large upload: multipart, in parts of :attr:`part_size`."""
        self.put(bucket, key, path)

    def get(self, bucket: str, key: str, path: Path) -> None:
        raise NotImplementedError

    def get_large(self, bucket: str, key: str, path: Path) -> None:
        """The large download: ranged GETs where :attr:`ranged_get`."""
        self.get(bucket, key, path)

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


def start_upload(s3: Any, bucket: str, key: str) -> tuple[str, list[bytes]]:
    """An incomplete multipart upload with boto3, of two parts (5 MiB and a few bytes): its
    upload id and its parts' bodies."""
    upload_id = str(s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
    parts = [os.urandom(5 * MIB), os.urandom(1234)]
    for number, body in enumerate(parts, 1):
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
    return upload_id, parts


def pending_uploads(s3: Any, bucket: str) -> list[tuple[str, str]]:
    """(key, upload id) of every multipart upload in progress in ``bucket``."""
    found = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return [(item["Key"], item["UploadId"]) for item in found]


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
        with GatewayRequests(tool.endpoint) as requests:
            tool.put_large(scenario_bucket, LARGE_KEY, payloads.large.path)
        parts = part_count(payloads.large.size, tool.part_size)
        assert parts > 1
        assert_multipart_upload(requests.on(scenario_bucket, LARGE_KEY), parts, requests.notes)
        assert stored_sha256(matrix_s3, scenario_bucket, LARGE_KEY) == payloads.large.sha256
        head = matrix_s3.head_object(Bucket=scenario_bucket, Key=LARGE_KEY)
        assert head["ETag"] == multipart_etag(payloads.large.path, tool.part_size)
        assert head["ETag"].endswith(f'-{parts}"')
        assert head["ContentLength"] == payloads.large.size
        first = matrix_s3.head_object(Bucket=scenario_bucket, Key=LARGE_KEY, PartNumber=1)
        assert first["PartsCount"] == parts
        assert first["ContentLength"] == tool.part_size
        assert pending_uploads(matrix_s3, scenario_bucket) == []
        self.check_large_upload(matrix_s3, scenario_bucket, payloads.large)

    def check_large_upload(self, matrix_s3: Any, bucket: str, payload: Payload) -> None:
        """A client's own checks of the large object it just uploaded (to ``LARGE_KEY``)."""

    def test_get_back(self, tool: Tool, scenario_bucket: str, payloads: Payloads) -> None:
        small = tool.home / "back-small.bin"
        small.unlink(missing_ok=True)
        tool.get(scenario_bucket, SMALL_KEY, small)
        assert sha256(small) == payloads.small.sha256
        large = tool.home / "back-large.bin"
        large.unlink(missing_ok=True)
        with GatewayRequests(tool.endpoint) as requests:
            tool.get_large(scenario_bucket, LARGE_KEY, large)
        assert sha256(large) == payloads.large.sha256
        assert_downloaded(requests.on(scenario_bucket, LARGE_KEY), tool.ranged_get)

    def test_head(
        self, tool: Tool, scenario_bucket: str, payloads: Payloads, matrix_s3: Any
    ) -> None:
        head = tool.head(scenario_bucket, SMALL_KEY)
        assert head.size == payloads.small.size
        assert head.etag in (None, payloads.small.md5)
        head = tool.head(scenario_bucket, LARGE_KEY)
        assert head.size == payloads.large.size
        stored = matrix_s3.head_object(Bucket=scenario_bucket, Key=LARGE_KEY)["ETag"]
        expected = payloads.large.md5 if tool.md5_in_metadata else stored.strip('"')
        assert head.etag in (None, expected)

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
