"""The local stack as ``podman kube play`` runs it (deploy/podman/artifact-store.yaml) from
the images the Containerfiles build: aws-cli stores and reads back an object, cosign signs an
image through the gateway's ``/v2/`` and the gateway verifies the signature; the gateway runs
as UID 1001 in group 0 on a read-only root filesystem and exits 0 on SIGTERM. Pod, volumes and
secrets go away afterwards, also when the test fails."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import boto3
import httpx
import pytest

from tests.fixtures import images
from tests.fixtures.oci_images import layer_tar, run
from tests.fixtures.registries import GATEWAY_USER, free_port
from tests.fixtures.tools import installed
from tests.integration.oci.registry_client import OciClient

ROOT = Path(__file__).resolve().parents[3]
KUBE_YAML = ROOT / "deploy" / "podman" / "artifact-store.yaml"
VOLUMES_YAML = ROOT / "deploy" / "podman" / "volumes.yaml"
POD = "artifact-store"
# The ConfigMap becomes a volume too.
VOLUMES = ("artifact-store-zot", "artifact-store-index", "artifact-store-zot-config")
SECRETS = ("artifact-store-root", "artifact-store-zot")
ACCESS_KEY = "artifactstore"
READY_TIMEOUT = 120


@dataclass(frozen=True)
class Stack:
    s3_url: str
    management_url: str
    secret_key: str
    ready_seconds: float
    kube_file: Path


def _podman_decodes_secret_data(podman: Path) -> bool:
    """Podman before 4.4 (Debian 12 has 4.3.1) writes a Secret's values into its volume still
    base64-encoded (containers/podman#16625): there the test mounts host directories."""
    version = run([podman, "version", "--format", "{{.Client.Version}}"]).strip()
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major, minor) >= (4, 4)


def _secret_values(secret_key: str, zot_password: str) -> dict[str, dict[str, str]]:
    hashed = bcrypt.hashpw(zot_password.encode(), bcrypt.gensalt(4)).decode()
    return {
        "artifact-store-root": {"accessKey": ACCESS_KEY, "secretKey": secret_key},
        "artifact-store-zot": {
            "username": GATEWAY_USER,
            "password": zot_password,
            "htpasswd": f"{GATEWAY_USER}:{hashed}\n",
        },
    }


def _secrets_yaml(values: dict[str, dict[str, str]]) -> str:
    """Kubernetes Secrets, for a podman that mounts them as Kubernetes does."""
    documents = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
        }
        for name, data in values.items()
    ]
    return "\n---\n".join(json.dumps(document) for document in documents)


def _secret_directories(values: dict[str, dict[str, str]], work: Path) -> dict[str, Path]:
    """The secrets as host directories (mounted with hostPath), for podman < 4.4: readable
    by group 0, the gateway's and Zot's group."""
    found = {}
    for name, data in values.items():
        directory = work / name
        directory.mkdir(mode=0o750)
        for key, value in data.items():
            (directory / key).write_text(value)
            (directory / key).chmod(0o640)
        found[name] = directory
    return found


def _kube_yaml(built: images.Images, s3: int, management: int, secret_dirs: dict[str, Path]) -> str:
    """The committed YAML with the test's images, free host ports, and the secrets as host
    directories where podman cannot mount Secrets."""
    text = KUBE_YAML.read_text()
    replacements = {
        "quay.io/artifact-store/gateway:0.1.0": built.gateway,
        "quay.io/artifact-store/zot:v2.1.20": built.zot,
        "hostPort: 9000,": f"hostPort: {s3},",
        "hostPort: 9100,": f"hostPort: {management},",
    }
    for name, directory in secret_dirs.items():
        old = f"secret: {{secretName: {name}, optional: false}}"
        replacements[old] = f"hostPath: {{path: {directory}, type: Directory}}"
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def _tear_down(podman: Path, kube_file: Path) -> None:
    for command in (
        ["kube", "down", str(kube_file)],
        ["pod", "rm", "--force", POD],
        ["volume", "rm", "--force", *VOLUMES],
        ["secret", "rm", *SECRETS],
    ):
        subprocess.run([str(podman), *command], capture_output=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def podman() -> Path:
    return installed("podman")


@pytest.fixture(scope="module")
def stack(podman: Path) -> Iterator[Stack]:
    built = images.build(podman)
    # Not pytest's tmp_path: other pytest sessions on this machine prune those, and the pod
    # mounts from here.
    work = Path(tempfile.mkdtemp(prefix="artifact-store-podman-"))
    s3, management = free_port(), free_port()
    secret_key, zot_password = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    values = _secret_values(secret_key, zot_password)
    secrets_file, kube_file = work / "secrets.yaml", work / "artifact-store.yaml"
    as_secrets = _podman_decodes_secret_data(podman)
    secret_dirs = {} if as_secrets else _secret_directories(values, work)
    kube_file.write_text(_kube_yaml(built, s3, management, secret_dirs))
    _tear_down(podman, kube_file)  # an earlier run killed before its teardown
    try:
        if as_secrets:
            secrets_file.write_text(_secrets_yaml(values))
            run([podman, "kube", "play", secrets_file])
        run([podman, "kube", "play", VOLUMES_YAML])
        started = time.monotonic()
        run([podman, "kube", "play", kube_file])
        ready = _wait_ready(f"http://127.0.0.1:{management}", podman)
        yield Stack(
            f"http://127.0.0.1:{s3}",
            f"http://127.0.0.1:{management}",
            secret_key,
            ready - started,
            kube_file,
        )
    finally:
        _tear_down(podman, kube_file)
        shutil.rmtree(work, ignore_errors=True)


def _wait_ready(management_url: str, podman: Path) -> float:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{management_url}/readyz", timeout=2).status_code == 200:
                return time.monotonic()
        time.sleep(0.2)
    logs = subprocess.run(
        [str(podman), "pod", "logs", POD], capture_output=True, text=True, check=False
    )
    pytest.fail(
        f"/readyz not ok within {READY_TIMEOUT} s:\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}"
    )


def _aws_env(stack: Stack, home: Path) -> dict[str, str]:
    config = home / "aws-config"
    config.write_text("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": stack.secret_key,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    }


def test_aws_cli_scenario(stack: Stack, tmp_path: Path) -> None:
    aws = Path(run(["bash", ROOT / "scripts" / "clients" / "install.sh", "awscli-v2"]).strip())
    env = _aws_env(stack, tmp_path)
    s3 = [aws, "--endpoint-url", stack.s3_url, "s3"]
    payload = tmp_path / "up.bin"
    payload.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    run([*s3, "mb", "s3://podman-stack"], env=env)
    run([*s3, "cp", payload, "s3://podman-stack/dir/up.bin"], env=env)
    run([*s3, "cp", "s3://podman-stack/dir/up.bin", tmp_path / "down.bin"], env=env)
    assert (tmp_path / "down.bin").read_bytes() == payload.read_bytes()
    listing = run([*s3, "ls", "--recursive", "s3://podman-stack"], env=env)
    assert listing.split()[-2:] == [str(payload.stat().st_size), "dir/up.bin"]
    run([*s3, "rm", "s3://podman-stack/dir/up.bin"], env=env)
    assert run([*s3, "ls", "--recursive", "s3://podman-stack"], env=env).strip() == ""


def test_cosign_signature_attached_and_verified(stack: Stack, tmp_path: Path) -> None:
    cosign, crane = installed("cosign"), installed("crane")
    host = stack.s3_url.removeprefix("http://")
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "DOCKER_CONFIG": str(home / ".docker"),
        "COSIGN_PASSWORD": "podman-stack",
    }
    run([cosign, "generate-key-pair"], env=env, cwd=tmp_path)
    run([crane, "auth", "login", host, "-u", ACCESS_KEY, "-p", stack.secret_key], env=env)
    (tmp_path / "layer.tar").write_bytes(layer_tar())
    image = run(
        [
            *(crane, "append", "--insecure", "--oci-empty-base"),
            *("--new_layer", tmp_path / "layer.tar", "--new_tag", f"{host}/signed/tool:v1"),
        ],
        env=env,
    ).strip()
    insecure = ("--allow-http-registry", "--allow-insecure-registry")
    run(
        [
            *(cosign, "sign", "--key", tmp_path / "cosign.key", "--tlog-upload=false"),
            *("--use-signing-config=false", *insecure, "--yes", image),
        ],
        env=env,
    )
    run(
        [
            *(cosign, "verify", "--key", tmp_path / "cosign.pub", "--insecure-ignore-tlog=true"),
            *(*insecure, image),
        ],
        env=env,
    )
    root = {
        "Authorization": OciClient(stack.s3_url, ACCESS_KEY, stack.secret_key).credentials()[
            "Authorization"
        ]
    }
    verdict = httpx.get(
        f"{stack.s3_url}/_artifacts/verify", params={"image": image, "fresh": "true"}, headers=root
    ).json()
    assert (verdict["signed"], len(verdict["signatures"])) == (False, 1), verdict  # not trusted
    boto3.client(
        "s3",
        endpoint_url=stack.s3_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=stack.secret_key,
        region_name="us-east-1",
    ).create_bucket(Bucket="signed")
    trust = {"keys": [{"name": "cosign", "public_key": (tmp_path / "cosign.pub").read_text()}]}
    answer = httpx.put(f"{stack.s3_url}/_artifacts/trust/signed", json=trust, headers=root)
    assert answer.status_code == 200, answer.text
    verdict = httpx.get(
        f"{stack.s3_url}/_artifacts/verify", params={"image": image, "fresh": "true"}, headers=root
    ).json()
    assert (verdict["signed"], verdict["trust_bucket"]) == (True, "signed"), verdict
    [signature] = verdict["signatures"]
    assert (signature["verified"], signature["trusted"]) == (True, True)


def test_the_images_carry_oci_labels(stack: Stack, podman: Path) -> None:
    for container, title in (("gateway", "artifact-store-gateway"), ("zot", "artifact-store-zot")):
        image = _state(podman, container)["ImageName"]
        [inspected] = json.loads(run([podman, "image", "inspect", image]))
        labels = inspected["Labels"]
        assert labels["org.opencontainers.image.title"] == title
        assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
        assert {"source", "version", "revision", "description"} <= {
            key.removeprefix("org.opencontainers.image.") for key in labels
        }


def test_the_image_ships_the_console(stack: Stack) -> None:
    """The console came in as the build context `console`: the page and its hashed assets are
    served from the image, not the 503 of a gateway built without it."""
    page = httpx.get(f"{stack.s3_url}/_artifacts/ui/")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    script = re.search(r'src="(/_artifacts/ui/assets/[^"]+\.js)"', page.text)
    assert script is not None, page.text
    asset = httpx.get(f"{stack.s3_url}{script.group(1)}")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]


def test_the_data_outlives_the_pod(stack: Stack, podman: Path) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=stack.s3_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=stack.secret_key,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="kept")
    client.put_object(Bucket="kept", Key="k", Body=b"survives kube down")
    run([podman, "kube", "down", stack.kube_file])
    run([podman, "kube", "play", stack.kube_file])
    _wait_ready(stack.management_url, podman)
    assert client.get_object(Bucket="kept", Key="k")["Body"].read() == b"survives kube down"


def _state(podman: Path, container: str) -> dict[str, object]:
    [found] = json.loads(run([podman, "inspect", f"{POD}-{container}"]))
    assert isinstance(found, dict)
    return found


def test_gateway_is_non_root_on_a_read_only_root_and_stops_on_sigterm(
    stack: Stack, podman: Path
) -> None:
    for container in ("gateway", "zot"):
        pid = _state(podman, container)["State"]["Pid"]  # type: ignore[index]
        status = Path(f"/proc/{pid}/status").read_text()
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        gid_line = next(line for line in status.splitlines() if line.startswith("Gid:"))
        assert set(uid_line.split()[1:]) == {"1001"}, (container, uid_line)
        assert set(gid_line.split()[1:]) == {"0"}, (container, gid_line)
        root_mount = next(
            line.split()
            for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
            if line.split()[4] == "/"
        )
        assert "ro" in root_mount[5].split(","), (container, root_mount)
    # The data volume holds what the gateway wrote; nothing else was writable.
    run([podman, "stop", "--time", "60", f"{POD}-gateway"])
    state = _state(podman, "gateway")["State"]
    assert state["ExitCode"] == 0, state  # type: ignore[index]
