"""The GitHub Actions and the Tekton Tasks end to end: their committed scripts, run by the
runners in tests/integration/ci/runners.py with the artifactctl built from cli/, against a real
gateway, Zot and Keycloak. GitHub's side logs in with a GitHub-format OIDC token from the test
issuer (no secret); Tekton's takes a Secret (access keys) or a credentials workspace (a
Keycloak token). Upload signs and attaches an SBOM; download with require-signature gets the
signed object and refuses an unsigned one, writing nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from artifactstore import Client
from artifactstore.signing import KeyPair

from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures import images
from tests.fixtures.artifactctl import build
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.servers import RunningGateway
from tests.fixtures.tools import installed
from tests.integration.ci.conftest import REPOSITORY, REQUEST_TOKEN, FakeGithubIssuer
from tests.integration.ci.runners import run_composite_action, run_tekton_task

ROOT = Path(__file__).resolve().parents[3]
ACTIONS = ROOT / "integrations" / "github"
TASKS = ROOT / "integrations" / "tekton"
SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "components": [{"type": "library", "name": "zlib", "version": "1.3.1"}],
}


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ci-bin")
    build(directory)
    return directory


@pytest.fixture(scope="module")
def signer() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture
def root(ci_gateway: RunningGateway) -> Iterator[Client]:
    client = Client(endpoint=ci_gateway.url, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)
    yield client
    client.close()


@pytest.fixture
def bucket(ci_gateway: RunningGateway, root: Client, signer: KeyPair) -> str:
    """A bucket the repository may write and read (objects and referrers), trusting signer's
    key and requiring a signature on every download."""
    name = f"ci-{uuid.uuid4().hex[:10]}"
    s3_client(ci_gateway.url).create_bucket(Bucket=name)
    objects = [
        "s3:PutObject", "s3:GetObject", "s3:PutObjectReferrer", "s3:GetObjectReferrer",
    ]  # fmt: skip
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam:::user/{REPOSITORY}"},
                "Action": objects,
                "Resource": f"arn:aws:s3:::{name}/*",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam:::user/{REPOSITORY}"},
                "Action": ["s3:ListBucket"],
                "Resource": f"arn:aws:s3:::{name}",
            },
        ],
    }
    root.put_bucket_policy(name, policy)
    root.trust_key(name, "ci", signer, require_signature=True)
    return name


def files(work: Path, signer: KeyPair, size: int = 3 << 20) -> dict[str, Path]:
    work.mkdir(parents=True, exist_ok=True)
    artifact = work / "app.tar.gz"
    artifact.write_bytes(uuid.uuid4().bytes * (size // 16))
    key = work / "signing.pem"
    key.write_bytes(signer.private_pem())
    key.chmod(0o600)
    sbom = work / "sbom.cdx.json"
    sbom.write_text(json.dumps(SBOM))
    return {"artifact": artifact, "key": key, "sbom": sbom}


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def runner_env(bin_dir: Path, home: Path, **extra: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "CI": "true", **extra}


def assert_signed_with_sbom(root: Client, bucket: str, key: str) -> None:
    kinds = sorted(r.kind for r in root.referrers(bucket, key))
    assert kinds == ["sbom", "signature"]
    verdict = root.verify(bucket, key, fresh=True)
    assert verdict.signed, verdict.reason
    assert verdict.sbom_valid


def go_settings(go: Path) -> dict[str, str]:
    """The developer's Go caches (their defaults live under HOME, which the runner replaces),
    so the action's build of artifactctl is a warm one."""
    names = ["GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY"]
    done = subprocess.run(
        [str(go), "env", *names], capture_output=True, text=True, check=True, timeout=60
    )
    return {n: v for n, v in zip(names, done.stdout.splitlines(), strict=True) if v}


# --- GitHub Actions -------------------------------------------------------------------------


def github_env(bin_dir: Path, work: Path, issuer: FakeGithubIssuer) -> dict[str, str]:
    return runner_env(
        bin_dir,
        work / "home",
        ACTIONS_ID_TOKEN_REQUEST_URL=f"{issuer.url}/token?api-version=2.0",
        ACTIONS_ID_TOKEN_REQUEST_TOKEN=REQUEST_TOKEN,
        GITHUB_RUN_ID="4242",
        GITHUB_RUN_ATTEMPT="1",
    )


def test_github_upload_then_download_requiring_a_signature(
    ci_gateway: RunningGateway, issuer: FakeGithubIssuer, bin_dir: Path, root: Client,
    bucket: str, signer: KeyPair, tmp_path: Path,
) -> None:  # fmt: skip
    made = files(tmp_path / "src", signer)
    env = github_env(bin_dir, tmp_path, issuer)
    up = run_composite_action(
        ACTIONS / "upload",
        {
            "endpoint": ci_gateway.url, "bucket": bucket, "key": "app/1.0/app.tar.gz",
            "path": str(made["artifact"]), "sign-key": str(made["key"]),
            "sbom": str(made["sbom"]),
        },
        env,
        tmp_path,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    assert up.outputs == {
        "uri": f"{ci_gateway.url}/{bucket}/app/1.0/app.tar.gz",
        "digest": sha256(made["artifact"]),
    }
    assert_signed_with_sbom(root, bucket, "app/1.0/app.tar.gz")

    target = tmp_path / "out" / "app.tar.gz"
    target.parent.mkdir()
    down = run_composite_action(
        ACTIONS / "download",
        {
            "endpoint": ci_gateway.url, "bucket": bucket, "key": "app/1.0/app.tar.gz",
            "path": str(target), "require-signature": "true",
        },
        env,
        tmp_path,
    )  # fmt: skip
    assert down.returncode == 0, down.stderr
    assert target.read_bytes() == made["artifact"].read_bytes()
    assert down.outputs["digest"] == sha256(made["artifact"])


def test_github_download_refuses_an_unsigned_object(
    ci_gateway: RunningGateway, issuer: FakeGithubIssuer, bucket: str, signer: KeyPair,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Also: with no artifactctl on PATH, the action builds it from its own checkout."""
    made = files(tmp_path / "src", signer, size=1 << 20)
    go = Path(shutil.which("go") or pytest.fail("Go is required (the action builds artifactctl)"))
    env = github_env(go.parent, tmp_path, issuer)
    env.update(go_settings(go))
    up = run_composite_action(
        ACTIONS / "upload",
        {"endpoint": ci_gateway.url, "bucket": bucket, "key": "unsigned.bin",
         "path": str(made["artifact"])},
        env,
        tmp_path,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    assert "artifactctl built from" in up.stdout
    target = tmp_path / "unsigned.bin"
    down = run_composite_action(
        ACTIONS / "download",
        {"endpoint": ci_gateway.url, "bucket": bucket, "key": "unsigned.bin",
         "path": str(target), "require-signature": "true"},
        env,
        tmp_path,
    )  # fmt: skip
    assert down.returncode == 4, down.stderr  # artifactctl's "verification failed"
    assert not target.exists()


# --- Tekton ---------------------------------------------------------------------------------


def tekton_upload(
    gateway: RunningGateway, bucket: str, key: str, made: dict[str, Path], bin_dir: Path,
    work: Path, *, secrets: dict[str, dict[str, str]], credentials: Path | None = None,
    image: tuple[Path, str] | None = None,
) -> Any:  # fmt: skip
    workspaces = {"source": made["artifact"].parent, "signing-key": made["key"].parent}
    if credentials is not None:
        workspaces["credentials"] = credentials
    return run_tekton_task(
        TASKS / "artifact-store-upload.yaml",
        {
            "endpoint": gateway.url, "bucket": bucket, "key": key,
            "path": made["artifact"].name, "sign-key": made["key"].name,
            "sbom": made["sbom"].name,
        },
        workspaces,
        secrets,
        runner_env(bin_dir, work / "home"),
        work,
        image,
    )  # fmt: skip


def test_tekton_upload_with_a_secret_then_download_with_results_for_chains(
    ci_gateway: RunningGateway, bin_dir: Path, root: Client, bucket: str, signer: KeyPair,
    tmp_path: Path,
) -> None:  # fmt: skip
    made = files(tmp_path / "src", signer)
    secret = {"artifact-store-credentials": {"access-key-id": ACCESS_KEY,
                                             "secret-access-key": SECRET_KEY}}  # fmt: skip
    up = tekton_upload(
        ci_gateway, bucket, "app.tar.gz", made, bin_dir, tmp_path / "up", secrets=secret
    )
    assert up.returncode == 0, up.stderr
    assert up.results == {
        "ARTIFACT_URI": f"{ci_gateway.url}/{bucket}/app.tar.gz",
        "ARTIFACT_DIGEST": sha256(made["artifact"]),
    }
    assert_signed_with_sbom(root, bucket, "app.tar.gz")

    output = tmp_path / "output"
    output.mkdir()
    down = run_tekton_task(
        TASKS / "artifact-store-download.yaml",
        {"endpoint": ci_gateway.url, "bucket": bucket, "key": "app.tar.gz",
         "path": "app.tar.gz", "require-signature": "true"},
        {"output": output},
        secret,
        runner_env(bin_dir, tmp_path / "down" / "home"),
        (tmp_path / "down"),
    )  # fmt: skip
    assert down.returncode == 0, down.stderr
    assert (output / "app.tar.gz").read_bytes() == made["artifact"].read_bytes()
    assert down.results["ARTIFACT_DIGEST"] == up.results["ARTIFACT_DIGEST"]


def test_tekton_credentials_workspace_with_a_keycloak_token(
    ci_gateway: RunningGateway, keycloak: RunningKeycloak, bin_dir: Path, root: Client,
    signer: KeyPair, tmp_path: Path,
) -> None:  # fmt: skip
    """bob (artifact-writer) uploads with his token from a workspace; the Secret is absent."""
    name = f"ci-{uuid.uuid4().hex[:10]}"
    root.create_bucket(name)
    root.trust_key(name, "ci", signer)
    made = files(tmp_path / "src", signer, size=1 << 20)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "token").write_text(keycloak.password_token("bob"))
    up = tekton_upload(
        ci_gateway, name, "bob.bin", made, bin_dir, tmp_path / "up", secrets={},
        credentials=credentials,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    assert root.head(name, "bob.bin").size == made["artifact"].stat().st_size
    assert_signed_with_sbom(root, name, "bob.bin")


def test_tekton_upload_step_in_the_artifactctl_image(
    ci_gateway: RunningGateway, bin_dir: Path, root: Client, bucket: str, signer: KeyPair,
    tmp_path: Path,
) -> None:  # fmt: skip
    """The step as a cluster runs it: in Containerfile.artifactctl's image, as UID 1001 with no
    capabilities, the workspaces mounted (files 0644, as Tekton mounts a Secret's)."""
    podman = installed("podman")
    image = images.build_artifactctl(podman, bin_dir / "artifactctl")
    made = files(tmp_path / "src", signer, size=1 << 20)
    made["artifact"].parent.chmod(0o755)
    for path in made.values():
        path.chmod(0o644)
    secret = {"artifact-store-credentials": {"access-key-id": ACCESS_KEY,
                                             "secret-access-key": SECRET_KEY}}  # fmt: skip
    work = tmp_path / "up"
    work.mkdir()
    up = tekton_upload(
        ci_gateway, bucket, "in-image.tar.gz", made, bin_dir, work, secrets=secret,
        image=(podman, image),
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    assert up.results["ARTIFACT_DIGEST"] == sha256(made["artifact"])
    assert_signed_with_sbom(root, bucket, "in-image.tar.gz")
