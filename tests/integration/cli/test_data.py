"""artifactctl's data commands end to end: cp, sync, rm, cat, stat, presign, rb against the real
gateway, Zot and Keycloak, checked through the store afterwards (boto3 as root)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from artifactstore import Client, signing

from tests.conftest import s3_client
from tests.fixtures.servers import RunningGateway
from tests.integration.cli.conftest import Cli

MIB = 1 << 20


@pytest.fixture
def s3(cli_gateway: RunningGateway) -> Any:
    return s3_client(cli_gateway.url)


@pytest.fixture
def bucket(cli: Cli) -> str:
    name = f"cli-{uuid.uuid4().hex[:10]}"
    cli.ok("mb", f"s3://{name}")
    return name


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    out = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in out.get("Contents", []))


def body(s3: Any, bucket: str, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def test_cp_upload_skips_identical_and_sends_changed(
    cli: Cli, s3: Any, bucket: str, tmp_path: Path
) -> None:
    f = tmp_path / "app.tgz"
    f.write_bytes(b"release one")
    first = cli.doc("cp", str(f), f"s3://{bucket}/app/")["result"]
    assert first["transferred"] == 1
    assert first["skipped"] == 0
    assert first["transfers"][0]["destination"] == f"s3://{bucket}/app/app.tgz"
    assert body(s3, bucket, "app/app.tgz") == b"release one"
    again = cli.doc("cp", str(f), f"s3://{bucket}/app/app.tgz")["result"]
    assert again["transfers"][0]["skipped"] is True
    assert again["transfers"][0]["skipReason"] == "CRC64NVME"
    assert (again["transferred"], again["skipped"], again["bytes"]) == (0, 1, 0)
    assert "skipped" in cli.ok("cp", str(f), f"s3://{bucket}/app/app.tgz").stdout
    f.write_bytes(b"release two")  # same size, other bytes: the checksum tells
    changed = cli.doc("cp", str(f), f"s3://{bucket}/app/app.tgz")["result"]
    assert changed["transferred"] == 1
    assert body(s3, bucket, "app/app.tgz") == b"release two"
    # --quiet prints nothing on success, as the CI integrations call it
    quiet = cli.ok("cp", "--quiet", str(f), f"s3://{bucket}/ci/app.tgz")
    assert (quiet.stdout, quiet.stderr) == ("", "")


def test_cp_several_sources_recursive_and_filters(
    cli: Cli, s3: Any, bucket: str, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.tgz", tmp_path / "b.tgz"
    a.write_bytes(b"a")
    b.write_bytes(b"bb")
    cli.ok("cp", str(a), str(b), f"s3://{bucket}/dir")  # like `cp *.tgz s3://b/dir`
    assert keys(s3, bucket) == ["dir/a.tgz", "dir/b.tgz"]
    tree = tmp_path / "dist"
    (tree / "js").mkdir(parents=True)
    (tree / "index.html").write_text("<html>")
    (tree / "js" / "app.js").write_text("js")
    (tree / "js" / "app.js.map").write_text("map")
    assert cli("cp", str(tree), f"s3://{bucket}/site/").code == 1  # a directory needs -r
    doc = cli.doc("cp", "-r", str(tree), f"s3://{bucket}/site", "--exclude", "*.map")
    assert doc["result"]["transferred"] == 2
    assert keys(s3, bucket, "site/") == ["site/index.html", "site/js/app.js"]
    down = tmp_path / "down"
    got = cli.doc(
        "cp", "-r", f"s3://{bucket}/site/", str(down), "--include", "*.js", "--exclude", "*.html"
    )
    assert got["result"]["transferred"] == 1
    assert [p.relative_to(down).as_posix() for p in down.rglob("*") if p.is_file()] == ["js/app.js"]
    only = tmp_path / "only"
    cli.ok("cp", "-r", f"s3://{bucket}/site", str(only), "--include", "*.html")  # --include alone
    assert [p.name for p in only.rglob("*") if p.is_file()] == ["index.html"]
    item = got["result"]["transfers"][0]
    assert item["checksum"] == "CRC64NVME"
    assert item["sha256"] == hashlib.sha256(b"js").hexdigest()


def test_cp_download_verify_skip_and_streams(
    cli: Cli, s3: Any, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(3 * MIB + 17)
    cli.ok("cp", "-", f"s3://{bucket}/blob.bin", input=data)  # stdin, streamed
    assert body(s3, bucket, "blob.bin") == data
    out = tmp_path / "blob.bin"
    doc = cli.doc("cp", f"s3://{bucket}/blob.bin", str(out))["result"]["transfers"][0]
    assert out.read_bytes() == data
    assert doc["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["checksum"] == "CRC64NVME"
    again = cli.doc("cp", f"s3://{bucket}/blob.bin", str(tmp_path))["result"]  # into the directory
    assert again["transfers"][0]["skipped"] is True
    streamed = subprocess.run(
        [str(cli.binary), "cp", f"s3://{bucket}/blob.bin", "-"],
        env=cli.env,
        capture_output=True,
        timeout=120,
    )
    assert streamed.returncode == 0
    assert streamed.stdout == data
    cat = subprocess.run(
        [str(cli.binary), "cat", f"s3://{bucket}/blob.bin"],
        env=cli.env,
        capture_output=True,
        timeout=120,
    )
    assert cat.returncode == 0
    assert cat.stdout == data
    assert (
        cli.doc("cat", f"s3://{bucket}/blob.bin", expect=1)["error"]["exitCode"] == 1
    )  # stdout is the data's


def test_cp_store_to_store_is_a_server_side_copy(cli: Cli, s3: Any, bucket: str) -> None:
    cli.ok("cp", "-", f"s3://{bucket}/src/a.txt", input=b"alpha")  # stored with CRC64NVME
    cli.ok("cp", "-", f"s3://{bucket}/src/sub/b.txt", input=b"beta")
    doc = cli.doc("cp", f"s3://{bucket}/src/a.txt", f"s3://{bucket}/copy/a.txt")["result"]
    assert doc["transfers"][0]["action"] == "copy"
    assert body(s3, bucket, "copy/a.txt") == b"alpha"
    cli.ok("cp", "-r", f"s3://{bucket}/src", f"s3://{bucket}/mirror/")
    assert keys(s3, bucket, "mirror/") == ["mirror/a.txt", "mirror/sub/b.txt"]
    again = cli.doc("cp", "-r", f"s3://{bucket}/src", f"s3://{bucket}/mirror/")["result"]
    assert (again["transferred"], again["skipped"]) == (0, 2)


def test_cp_dry_run_changes_nothing(cli: Cli, s3: Any, bucket: str, tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("x")
    doc = cli.doc("cp", str(f), f"s3://{bucket}/x.txt", "--dry-run")
    assert doc["dryRun"] is True
    assert doc["result"]["transfers"][0]["destination"] == f"s3://{bucket}/x.txt"
    assert "(dryrun) upload" in cli.ok("cp", str(f), f"s3://{bucket}/x.txt", "--dry-run").stdout
    assert keys(s3, bucket) == []
    s3.put_object(Bucket=bucket, Key="y.txt", Body=b"y")
    cli.doc("cp", f"s3://{bucket}/y.txt", str(tmp_path / "y.txt"), "--dry-run")
    assert not (tmp_path / "y.txt").exists()


def test_cp_exit_codes(cli: Cli, bucket: str, tmp_path: Path) -> None:
    missing = cli.doc("cp", f"s3://{bucket}/no-such-key", str(tmp_path / "o"), expect=2)
    assert missing["error"]["family"] == "NotFound"
    assert (
        cli.doc("cp", str(tmp_path / "no-such-file"), f"s3://{bucket}/k", expect=2)["error"][
            "exitCode"
        ]
        == 2
    )
    f = tmp_path / "f"
    f.write_text("f")
    denied = cli.doc(
        "cp",
        str(f),
        f"s3://{bucket}/f",
        expect=3,
        env={"ARTIFACT_STORE_SECRET_ACCESS_KEY": "wrong"},
    )
    assert denied["error"]["exitCode"] == 3
    assert cli("cp", str(f), str(tmp_path / "g")).code == 1  # local to local: use cp(1)


def test_require_signature_refuses_an_unsigned_object(
    cli: Cli, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="unsigned.bin", Body=b"no signature here")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    out = downloads / "unsigned.bin"
    doc = cli.doc("cp", "--require-signature", f"s3://{bucket}/unsigned.bin", str(out), expect=4)
    assert doc["error"]["family"] == "VerificationFailed"
    assert list(downloads.iterdir()) == []  # no byte kept, no partial file
    run = cli("cp", "--quiet", "--require-signature", f"s3://{bucket}/unsigned.bin", str(out))
    assert run.code == 4
    assert run.stdout == ""
    cat = cli("cat", "--require-signature", f"s3://{bucket}/unsigned.bin")
    assert cat.code == 4
    assert cat.stdout == ""
    # The same file already present does not bypass the check.
    out.write_bytes(b"no signature here")
    assert cli("cp", "--require-signature", f"s3://{bucket}/unsigned.bin", str(out)).code == 4
    # without the flag it is fetched (and verified by its checksum)
    cli.ok("cp", "--quiet", f"s3://{bucket}/unsigned.bin", str(tmp_path / "plain.bin"))
    assert (tmp_path / "plain.bin").read_bytes() == b"no signature here"


def test_sync_up_and_down_transfers_only_changes(
    cli: Cli, s3: Any, bucket: str, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    (site / "img").mkdir(parents=True)
    (site / "index.html").write_text("index")
    (site / "img" / "logo.png").write_bytes(b"png")
    (site / "debug.log").write_text("log")
    target = f"s3://{bucket}/site/"
    plan = cli.doc("sync", str(site), target, "--exclude", "*.log", "--dry-run")
    assert plan["dryRun"] is True
    assert plan["result"]["transferred"] == 2
    assert keys(s3, bucket) == []
    first = cli.doc("sync", str(site), target, "--exclude", "*.log")["result"]
    assert (first["transferred"], first["unchanged"]) == (2, 0)
    assert keys(s3, bucket) == ["site/img/logo.png", "site/index.html"]
    index = s3.head_object(Bucket=bucket, Key="site/index.html")
    assert index["ContentType"].startswith("text/html")  # guessed from the extension
    second = cli.doc("sync", str(site), target, "--exclude", "*.log")["result"]
    assert (second["transferred"], second["unchanged"], second["transfers"]) == (0, 2, [])
    (site / "index.html").write_text("INDEX")  # same size, other bytes
    s3.put_object(Bucket=bucket, Key="site/stale.html", Body=b"old")
    dry = cli.doc("sync", str(site), target, "--exclude", "*.log", "--delete", "--dry-run")[
        "result"
    ]
    assert (dry["transferred"], dry["deleted"]) == (1, 1)
    assert "site/stale.html" in keys(s3, bucket)
    assert body(s3, bucket, "site/index.html") == b"index"
    third = cli.doc("sync", str(site), target, "--exclude", "*.log", "--delete")["result"]
    assert (third["transferred"], third["deleted"], third["unchanged"]) == (1, 1, 1)
    assert keys(s3, bucket) == ["site/img/logo.png", "site/index.html"]
    assert body(s3, bucket, "site/index.html") == b"INDEX"

    mirror = tmp_path / "mirror"
    down = cli.doc("sync", target, str(mirror))["result"]
    assert down["transferred"] == 2
    assert (mirror / "index.html").read_text() == "INDEX"
    assert cli.doc("sync", target, str(mirror))["result"]["transferred"] == 0
    (mirror / "extra.txt").write_text("extra")
    cli.ok("sync", target, str(mirror), "--delete")
    assert not (mirror / "extra.txt").exists()


def test_sync_falls_back_to_etag_without_a_full_object_checksum(
    cli: Cli, s3: Any, bucket: str, tmp_path: Path
) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "plain.txt").write_bytes(b"plain bytes")
    s3.put_object(Bucket=bucket, Key="p/plain.txt", Body=b"plain bytes")  # boto3: no CRC64NVME
    assert "CRC64NVME" not in cli.doc("stat", f"s3://{bucket}/p/plain.txt")["result"]["checksums"]
    result = cli.doc("sync", str(d), f"s3://{bucket}/p")["result"]
    assert (result["transferred"], result["unchanged"]) == (0, 1)


def test_rm_one_and_recursive(cli: Cli, s3: Any, bucket: str) -> None:
    for key in ("a/1", "a/2", "a/b/3", "keep"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    dry = cli.doc("rm", "-r", f"s3://{bucket}/a/", "--dry-run")
    assert dry["dryRun"] is True
    assert dry["result"]["deleted"] == 3
    assert len(keys(s3, bucket)) == 4
    assert cli.doc("rm", f"s3://{bucket}/keep", "--dry-run")["result"]["keys"] == ["keep"]
    assert "keep" in keys(s3, bucket)
    done = cli.doc("rm", "-r", f"s3://{bucket}/a")["result"]
    assert sorted(done["keys"]) == ["a/1", "a/2", "a/b/3"]
    assert keys(s3, bucket) == ["keep"]
    cli.doc("rm", f"s3://{bucket}/keep")
    assert keys(s3, bucket) == []
    assert cli.doc("rm", f"s3://{bucket}/never-was")["result"]["deleted"] == 1  # S3 says OK
    assert cli("rm", f"s3://{bucket}").code == 1  # a bucket needs rb


def test_stat_and_presign(cli: Cli, s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket, Key="s.txt", Body=b"stat me", ContentType="text/plain",
        Metadata={"build": "42"},
    )  # fmt: skip
    st = cli.doc("stat", f"s3://{bucket}/s.txt")["result"]
    assert (st["size"], st["contentType"], st["metadata"]) == (7, "text/plain", {"build": "42"})
    assert st["referrers"] == {"signatures": 0, "sboms": 0, "attestations": 0}
    cli.ok("cp", "-", f"s3://{bucket}/c.txt", input=b"crc")
    assert "Checksum:      CRC64NVME" in cli.ok("stat", f"s3://{bucket}/c.txt").stdout
    assert cli.doc("stat", f"s3://{bucket}/c.txt")["result"]["checksums"]["CRC64NVME"]
    assert cli.doc("stat", f"s3://{bucket}/missing", expect=2)["error"]["family"] == "NotFound"
    assert cli("cat", f"s3://{bucket}/missing").code == 2

    url = cli.doc("presign", f"s3://{bucket}/s.txt", "--expires", "10m")["result"]["url"]
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == b"stat me"
    put = cli.doc("presign", f"s3://{bucket}/up.txt", "--method", "put")["result"]
    assert put["method"] == "PUT"
    request = urllib.request.Request(
        put["url"], data=b"via url", method="PUT", headers=put["headers"]
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 200
    assert body(s3, bucket, "up.txt") == b"via url"
    plain = cli.ok("presign", f"s3://{bucket}/s.txt").stdout.strip()
    assert plain.startswith("http")
    assert "\n" not in plain
    assert cli("presign", f"s3://{bucket}/s.txt", "--method", "DELETE").code == 1


def test_rb_dry_run_and_recursive(cli: Cli, s3: Any) -> None:
    name = f"cli-{uuid.uuid4().hex[:10]}"
    cli.ok("mb", f"s3://{name}")
    s3.put_object(Bucket=name, Key="a", Body=b"a")
    s3.put_object(Bucket=name, Key="b/c", Body=b"c")
    dry = cli.doc("rb", f"s3://{name}", "--recursive", "--dry-run")
    assert dry["dryRun"] is True
    assert dry["result"]["objects"] == 2
    assert keys(s3, name) == ["a", "b/c"]
    assert cli.doc("rb", f"s3://{name}", "--dry-run", expect=6)["error"]["code"] == "BucketNotEmpty"
    assert cli.doc("rb", f"s3://{name}", expect=6)["error"]["family"] == "Conflict"  # not empty
    assert cli.doc("rb", f"s3://{name}", "--recursive")["result"] == {
        "bucket": name, "deleted": True, "recursive": True,
    }  # fmt: skip
    assert cli.doc("ls", f"s3://{name}", expect=2)["error"]["family"] == "NotFound"
    empty = f"cli-{uuid.uuid4().hex[:10]}"
    cli.ok("mb", f"s3://{empty}")
    cli.ok("rb", f"s3://{empty}")
    assert cli("rb", f"s3://{empty}").code == 2


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """200 MiB of random bytes and their SHA-256, made once per session."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    sha = hashlib.sha256()
    with path.open("wb") as f:
        for _ in range(200):
            chunk = os.urandom(MIB)
            sha.update(chunk)
            f.write(chunk)
    return path, sha.hexdigest()


def wait_for(condition: Any, what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def start(cli: Cli, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(cli.binary), *args], env=cli.env, cwd=cli.home,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def kill(process: subprocess.Popen[bytes]) -> None:
    assert process.poll() is None, "the transfer finished before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_killed_upload_and_download_resume(
    cli: Cli, s3: Any, bucket: str, big_file: tuple[Path, str], tmp_path: Path
) -> None:
    path, digest = big_file
    target = f"s3://{bucket}/big.bin"
    slow = ("--parallel", "1", "--part-size", "5MiB")
    states = cli.home / ".cache" / "artifact-store" / "uploads"
    upload = start(cli, "cp", *slow, str(path), target)
    state = wait_for(lambda: next(iter(states.glob("*.json")), None), "the upload's state file")
    upload_id = json.loads(state.read_text())["upload_id"]

    def stored() -> int:
        parts = s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=upload_id).get("Parts", [])
        return len(parts)

    wait_for(lambda: stored() >= 3, "three parts stored")
    kill(upload)
    killed_at = stored()
    # Ctrl-C is exit 8 and keeps what was stored too (this run itself continues the first).
    interrupted = subprocess.Popen(
        [str(cli.binary), "cp", *slow, str(path), target],
        env=cli.env, cwd=cli.home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    wait_for(lambda: stored() >= killed_at + 2, "two more parts stored")
    assert interrupted.poll() is None, "the upload finished before it could be interrupted"
    interrupted.send_signal(signal.SIGINT)
    _, stderr = interrupted.communicate(timeout=60)
    assert interrupted.returncode == 8, stderr
    assert b"run the same command again" in stderr
    before = stored()
    assert 5 <= before < 40
    resumed = cli.doc("cp", *slow, str(path), target, timeout=600)["result"]["transfers"][0]
    assert resumed["resumedParts"] >= before
    assert resumed["parts"] == 40
    assert not list(states.glob("*.json"))  # finished: no state left

    out = tmp_path / "big.out"
    side = tmp_path / "big.out.partial.json"

    def written() -> int:
        try:
            return sum(json.loads(side.read_text())["written"].values())
        except (OSError, ValueError):
            return 0

    download = start(cli, "cp", *slow, target, str(out))
    wait_for(lambda: written() >= 10 * MIB, "10 MiB written")
    kill(download)
    assert not out.exists()
    assert written() < 200 * MIB
    again = cli.doc("cp", *slow, target, str(out), timeout=600)["result"]["transfers"][0]
    assert again["resumedBytes"] >= 10 * MIB
    assert again["sha256"] == digest
    assert again["checksum"] == "CRC64NVME"
    sha = hashlib.sha256()
    with out.open("rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            sha.update(chunk)
    assert sha.hexdigest() == digest
    assert not side.exists()
    assert not (tmp_path / "big.out.partial").exists()


def test_require_signature_passes_signed_and_refuses_tampered(
    cli: Cli, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """The bucket trusts a key (set through the Python SDK and the JSON API), the object is
    signed with it: --require-signature fetches it. Overwritten with other bytes, the signature
    no longer covers the object: exit 4, and the file from before stays as it was."""
    env = {k: v for k, v in cli.env.items() if k.startswith("ARTIFACT_STORE_")}
    keys_ = signing.KeyPair.generate()
    with Client(env=env) as store:
        store.trust_key(bucket, "release", keys_)
        store.put_object(bucket, "signed.tgz", b"signed release")
        store.sign(bucket, "signed.tgz", keys_)
    assert cli.doc("stat", f"s3://{bucket}/signed.tgz")["result"]["referrers"]["signatures"] == 1
    out = tmp_path / "signed.tgz"
    cli.ok("cp", "--quiet", "--require-signature", f"s3://{bucket}/signed.tgz", str(out))
    assert out.read_bytes() == b"signed release"
    cat = cli("cat", "--require-signature", f"s3://{bucket}/signed.tgz")
    assert cat.code == 0
    assert cat.stdout == "signed release"
    s3.put_object(Bucket=bucket, Key="signed.tgz", Body=b"tampered release!")
    doc = cli.doc("cp", "--require-signature", f"s3://{bucket}/signed.tgz", str(out), expect=4)
    assert doc["error"]["family"] == "VerificationFailed"
    assert out.read_bytes() == b"signed release"
    assert not (tmp_path / "signed.tgz.partial").exists()


def max_rss_mib(cli: Cli, *args: str, stdin: Any = None) -> float:
    """Run artifactctl to its end (exit 0 required) and return its peak resident memory, the
    kernel's high-water mark of its own address space (VmHWM), read while it runs. (wait4's
    ru_maxrss would count the forked copy of this Python process before exec.)"""
    process = subprocess.Popen(
        [str(cli.binary), *args], env=cli.env, cwd=cli.home,
        stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    status = Path(f"/proc/{process.pid}/status")
    peak_kib = 0
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kib = max(peak_kib, int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            pass  # exiting
        time.sleep(0.01)
    _, stderr = process.communicate()
    assert process.returncode == 0, stderr
    assert peak_kib > 0, "never saw the process run"
    return peak_kib / 1024


def test_streams_do_not_hold_the_object_in_memory(
    cli: Cli, bucket: str, big_file: tuple[Path, str]
) -> None:
    """cp from a pipe and cat of the 200 MiB file stay far below its size."""
    path, digest = big_file
    with subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE) as source:
        piped = max_rss_mib(
            cli, "cp", "--parallel", "2", "--part-size", "5MiB", "-", f"s3://{bucket}/piped.bin",
            stdin=source.stdout,
        )  # fmt: skip
    assert piped < 100, f"cp from a pipe peaked at {piped:.0f} MiB"
    assert max_rss_mib(cli, "cat", f"s3://{bucket}/piped.bin") < 64
    sha = hashlib.sha256()
    with subprocess.Popen(
        [str(cli.binary), "cat", f"s3://{bucket}/piped.bin"], env=cli.env, stdout=subprocess.PIPE
    ) as cat:
        assert cat.stdout is not None
        for chunk in iter(lambda: cat.stdout.read(MIB), b""):  # type: ignore[union-attr]
            sha.update(chunk)
    assert cat.returncode == 0
    assert sha.hexdigest() == digest
