"""Virtual-hosted-style requests (``bucket.<domain>``) when a base domain is configured."""

import httpx

from tests.conftest import gateway_settings, s3_client
from tests.fixtures.servers import serve
from tests.fixtures.signing import sign


def test_virtual_hosted_style(registry, tmp_path):
    settings = gateway_settings(registry, tmp_path, virtual_host_domain="s3.test")
    with serve(settings) as running:
        port = running.url.rsplit(":", 1)[1]
        s3_client(running.url).create_bucket(Bucket="vhost")

        def request(method: str, path: str, body: bytes = b"") -> httpx.Response:
            virtual = f"http://vhost.s3.test:{port}{path}"
            headers = sign(method, virtual, body)
            headers["Host"] = f"vhost.s3.test:{port}"
            return httpx.request(method, f"{running.url}{path}", content=body, headers=headers)

        assert request("PUT", "/dir/file.txt", b"virtual").status_code == 200
        assert request("GET", "/dir/file.txt").content == b"virtual"
        listing = request("GET", "/?list-type=2")
        assert b"<Key>dir/file.txt</Key>" in listing.content
        # A key under v2/ of a virtual-hosted bucket is S3's, not the OCI front door's.
        assert request("PUT", "/v2/token", b"not a registry").status_code == 200
        assert request("GET", "/v2/token").content == b"not a registry"
        # Path style keeps working next to it.
        got = s3_client(running.url).get_object(Bucket="vhost", Key="dir/file.txt")
        assert got["Body"].read() == b"virtual"
