"""aws-cli v1 (the PyPI ``awscli`` in the locked environment), ``s3`` and ``s3api``."""

import hashlib
import json
import shutil
import subprocess
import sys
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


def test_cli_is_installed():
    assert Path(AWS).exists() or shutil.which("aws")


def test_s3_commands(aws_env, tmp_path):
    version = subprocess.run([AWS, "--version"], capture_output=True, text=True, check=True)
    assert "aws-cli/1." in version.stdout + version.stderr
    aws(aws_env, "s3", "mb", "s3://cli-bucket")
    source = tmp_path / "artifact.tar"
    # 7 MiB: below aws-cli's 8 MiB multipart threshold (multipart is another issue).
    source.write_bytes(hashlib.sha256(b"a").digest() * (7 * 32768))
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
