"""aws-cli v1 (the PyPI ``awscli`` in the locked environment), ``s3`` and ``s3api``."""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

AWS = str(Path(sys.executable).with_name("aws"))


def aws(env, *args: str) -> str:
    result = subprocess.run(
        [AWS, "--endpoint-url", env["AWS_ENDPOINT_URL"], *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def aws_debug(env, *args: str) -> str:
    """Run with ``--debug``: the log, with every operation and its headers, is on stderr."""
    result = subprocess.run(
        [AWS, "--endpoint-url", env["AWS_ENDPOINT_URL"], "--debug", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return result.stderr


def operations(log: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in re.findall(r"Making request for OperationModel\(name=(\w+)\)", log):
        found[name] = found.get(name, 0) + 1
    return found


def test_cli_is_installed():
    assert Path(AWS).exists() or shutil.which("aws")


def test_s3_commands(aws_env, tmp_path):
    version = subprocess.run([AWS, "--version"], capture_output=True, text=True, check=True)
    assert "aws-cli/1." in version.stdout + version.stderr
    aws(aws_env, "s3", "mb", "s3://cli-bucket")
    source = tmp_path / "artifact.tar"
    # 9 MiB: above aws-cli's default 8 MiB multipart threshold, so two parts up, two ranges down.
    source.write_bytes(hashlib.sha256(b"a").digest() * (9 * 32768))
    aws(aws_env, "s3", "cp", str(source), "s3://cli-bucket/releases/artifact.tar")
    (tmp_path / "tree").mkdir()
    for name in ("one.txt", "two.txt"):
        (tmp_path / "tree" / name).write_text(name)
    aws(aws_env, "s3", "cp", "--recursive", str(tmp_path / "tree"), "s3://cli-bucket/tree/")
    listing = aws(aws_env, "s3", "ls", "s3://cli-bucket/")
    assert "PRE releases/" in listing
    assert "PRE tree/" in listing
    recursive = aws(aws_env, "s3", "ls", "--recursive", "s3://cli-bucket/")
    assert "tree/one.txt" in recursive
    assert "releases/artifact.tar" in recursive
    target = tmp_path / "back.tar"
    aws(aws_env, "s3", "cp", "s3://cli-bucket/releases/artifact.tar", str(target))
    assert (
        hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    )
    aws(aws_env, "s3", "sync", str(tmp_path / "tree"), "s3://cli-bucket/synced/")
    assert "synced/two.txt" in aws(aws_env, "s3", "ls", "--recursive", "s3://cli-bucket/synced/")
    aws(aws_env, "s3", "rm", "--recursive", "s3://cli-bucket/")
    aws(aws_env, "s3", "rb", "s3://cli-bucket")
    assert "cli-bucket" not in aws(aws_env, "s3", "ls")


def test_s3api_commands(aws_env, tmp_path):
    aws(aws_env, "s3api", "create-bucket", "--bucket", "cli-api")
    body = tmp_path / "body.bin"
    body.write_bytes(b"s3api body")
    put = json.loads(
        aws(
            aws_env,
            "s3api",
            "put-object",
            "--bucket",
            "cli-api",
            "--key",
            "k/v",
            "--body",
            str(body),
            "--content-type",
            "text/x-api",
            "--metadata",
            "team=build",
        )
    )
    assert put["ETag"] == f'"{hashlib.md5(b"s3api body").hexdigest()}"'
    head = json.loads(aws(aws_env, "s3api", "head-object", "--bucket", "cli-api", "--key", "k/v"))
    assert head["ContentType"] == "text/x-api"
    assert head["Metadata"] == {"team": "build"}
    listed = json.loads(
        aws(
            aws_env,
            "s3api",
            "list-objects-v2",
            "--bucket",
            "cli-api",
            "--prefix",
            "k/",
            "--delimiter",
            "/",
        )
    )
    assert [o["Key"] for o in listed["Contents"]] == ["k/v"]
    out = tmp_path / "out.bin"
    aws(
        aws_env,
        "s3api",
        "get-object",
        "--bucket",
        "cli-api",
        "--key",
        "k/v",
        "--range",
        "bytes=0-4",
        str(out),
    )
    assert out.read_bytes() == b"s3api"
    aws(aws_env, "s3api", "delete-object", "--bucket", "cli-api", "--key", "k/v")
    aws(aws_env, "s3api", "delete-bucket", "--bucket", "cli-api")


@pytest.mark.parametrize("args", [["s3", "mb", "s3://Bad_Name"], ["s3", "ls", "s3://nope-nope-x"]])
def test_cli_errors_are_reported(aws_env, args):
    result = subprocess.run(
        [AWS, "--endpoint-url", aws_env["AWS_ENDPOINT_URL"], *args],
        env=aws_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "InvalidBucketName" in result.stderr or "NoSuchBucket" in result.stderr


MIB = 1024 * 1024


def test_s3_cp_multipart(aws_env, s3, tmp_path):
    """``multipart_threshold`` and ``multipart_chunksize`` lowered to 5 MiB: ``s3 cp`` of a
    file above it is a multipart upload of 5 MiB parts (each with its CRC32), the download
    5 ranged GETs, a copy between keys UploadPartCopy of 5 MiB ranges."""
    config = tmp_path / "config"
    config.write_text("[default]\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n")
    env = {**aws_env, "AWS_CONFIG_FILE": str(config)}
    part = 5 * MIB
    data = os.urandom(4 * part + 12_345)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    slices = [data[at : at + part] for at in range(0, len(data), part)]
    etag = hashlib.md5(b"".join(hashlib.md5(s).digest() for s in slices)).hexdigest()
    aws(env, "s3", "mb", "s3://cli-multipart")

    log = aws_debug(
        env, "s3", "cp", "--only-show-errors", str(source), "s3://cli-multipart/big.bin"
    )
    assert operations(log) == {
        "CreateMultipartUpload": 1,
        "UploadPart": 5,
        "CompleteMultipartUpload": 1,
    }
    head = s3.head_object(Bucket="cli-multipart", Key="big.bin", ChecksumMode="ENABLED")
    assert head["ETag"] == f'"{etag}-5"'
    assert head["ContentLength"] == len(data)
    crcs = b"".join(zlib.crc32(s).to_bytes(4, "big") for s in slices)
    composite = base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode()
    assert head["ChecksumCRC32"] == f"{composite}-5"
    assert head["ChecksumType"] == "COMPOSITE"
    first = s3.head_object(Bucket="cli-multipart", Key="big.bin", PartNumber=1)
    assert (first["PartsCount"], first["ContentLength"]) == (5, part)

    target = tmp_path / "back.bin"
    log = aws_debug(
        env, "s3", "cp", "--only-show-errors", "s3://cli-multipart/big.bin", str(target)
    )
    assert operations(log) == {"HeadObject": 1, "GetObject": 5}
    for n in range(4):
        assert f"'Range': 'bytes={n * part}-{(n + 1) * part - 1}'" in log
    assert f"'Range': 'bytes={4 * part}-'" in log
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()

    log = aws_debug(
        env,
        "s3",
        "cp",
        "--only-show-errors",
        "s3://cli-multipart/big.bin",
        "s3://cli-multipart/copy.bin",
    )
    copied = operations(log)
    assert copied["CreateMultipartUpload"] == 1
    assert copied["UploadPartCopy"] == 5
    assert copied["CompleteMultipartUpload"] == 1
    head = s3.head_object(Bucket="cli-multipart", Key="copy.bin")
    assert head["ETag"] == f'"{etag}-5"'
    body = s3.get_object(Bucket="cli-multipart", Key="copy.bin")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()

    aws(env, "s3", "rm", "--recursive", "s3://cli-multipart/")
    aws(env, "s3", "rb", "s3://cli-multipart")
