"""The chart's Zot, run for real: the rendered ConfigMap passes ``zot verify`` (PVC and S3
storage), and a Zot serving it with the generated htpasswd admits the gateway's generated
password, refuses anyone else, serves its probes without credentials and ``/metrics`` to
the gateway's user only; a gateway given the rendered credentials (Zot's and the root's) stores
and reads objects through it."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from gateway.__main__ import main as gateway_main
from gateway.config import Settings
from tests.fixtures.registries import find_zot, free_port
from tests.fixtures.servers import serve
from tests.unit.deploy.chart import Doc, find, render

ZOT = "store-artifact-store-zot"


def zot_binary() -> str:
    found = find_zot()
    if found is None:
        pytest.fail("Zot could not be installed or built (scripts/zot/install.sh)")
    return found


def local_config(docs: list[Doc], root: Path, port: int) -> Path:
    """The rendered config.json with the pod's paths and address moved under ``root``."""
    config: dict[str, Any] = json.loads(find(docs, "ConfigMap", ZOT)["data"]["config.json"])
    config["storage"]["rootDirectory"] = str(root / "storage")
    config["http"]["address"], config["http"]["port"] = "127.0.0.1", str(port)
    secret = find(docs, "Secret", f"{ZOT}-credentials")["data"]
    for key in ("username", "password"):  # the Secret's files, as the init container sees them
        (root / key).write_bytes(base64.b64decode(secret[key]))
    init = find(docs, "StatefulSet", ZOT)["spec"]["template"]["spec"]["initContainers"][0]
    arguments = [a.replace("/run/secrets/zot", str(root)) for a in init["command"][1:]]
    arguments = [a.replace("/etc/zot/auth", str(root)) for a in arguments]
    assert init["command"][0] == "artifact-store"
    assert gateway_main(arguments) == 0
    config["http"]["auth"]["htpasswd"]["path"] = str(root / "htpasswd")
    path = root / "config.json"
    path.write_text(json.dumps(config))
    return path


def credentials(docs: list[Doc]) -> tuple[str, str]:
    secret = find(docs, "Secret", f"{ZOT}-credentials")["data"]
    return base64.b64decode(secret["username"]).decode(), base64.b64decode(
        secret["password"]
    ).decode()


@pytest.mark.parametrize(
    "values",
    [{}, {"zot": {"storage": {"type": "s3", "s3": {"bucket": "zot", "endpoint": "http://x:1"}}}}],
    ids=["pvc", "s3"],
)
def test_zot_accepts_the_rendered_config(values: Doc, tmp_path: Path) -> None:
    config = local_config(render(values, tmp_path), tmp_path, free_port())
    result = subprocess.run(
        [zot_binary(), "verify", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "config file is valid" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def chart_zot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Doc]]]:
    root = tmp_path_factory.mktemp("chart-zot")
    docs = render({}, root)
    port = free_port()
    config = local_config(docs, root, port)
    log = root / "zot.log"
    process = subprocess.Popen(
        [zot_binary(), "serve", str(config)], stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "Zot did not start"
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield url, docs
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_only_the_gateways_user_gets_in(chart_zot: tuple[str, list[Doc]]) -> None:
    url, docs = chart_zot
    user = credentials(docs)
    for probe in ("/livez", "/readyz", "/startupz"):
        assert httpx.get(f"{url}{probe}").status_code == 200, probe
    assert httpx.get(f"{url}/v2/", auth=user).status_code == 200
    assert httpx.get(f"{url}/v2/").status_code == 401
    assert httpx.get(f"{url}/v2/", auth=(user[0], "not-the-password")).status_code == 401
    metrics = httpx.get(f"{url}/metrics", auth=user)
    assert metrics.status_code == 200
    assert "zot_" in metrics.text
    assert httpx.get(f"{url}/metrics").status_code == 401


def test_a_gateway_with_the_rendered_credentials_works(
    chart_zot: tuple[str, list[Doc]], tmp_path: Path
) -> None:
    url, docs = chart_zot
    username, password = credentials(docs)
    password_file = tmp_path / "password"
    password_file.write_text(password)
    root = find(docs, "Secret", "store-artifact-store-root")["data"]
    secret_file = tmp_path / "secretKey"
    secret_file.write_bytes(base64.b64decode(root["secretKey"]))
    settings = Settings(
        registry_url=url,
        registry_username=username,
        registry_password_file=password_file,
        root_access_key=base64.b64decode(root["accessKey"]).decode(),
        root_secret_key_file=secret_file,
        data_dir=tmp_path / "data",
    )
    with serve(settings) as gateway:
        s3 = boto3.client(
            "s3",
            endpoint_url=gateway.url,
            aws_access_key_id=settings.root_access_key,
            aws_secret_access_key=settings.root_secret(),
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )
        s3.create_bucket(Bucket="chart")
        s3.put_object(Bucket="chart", Key="k", Body=b"through the chart's Zot")
        assert s3.get_object(Bucket="chart", Key="k")["Body"].read() == b"through the chart's Zot"
