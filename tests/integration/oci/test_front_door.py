"""``/v2/`` through the gateway with raw HTTP: the challenge, the token endpoint, every kind
of request streamed to Zot and back, decisions by role, group and policy, S3 objects'
repositories read-only but for referrers, the filtered catalog, and the audit log."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.servers import RunningGateway
from tests.integration.oci.conftest import PREFIX
from tests.integration.oci.registry_client import (
    MANIFEST,
    OciClient,
    challenge,
    digest_of,
    manifest,
)


def unique(namespace: str = "team-a") -> str:
    return f"{namespace}/app-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def root(oci_gateway: RunningGateway) -> OciClient:
    return OciClient(oci_gateway.url, ACCESS_KEY, SECRET_KEY)


def audit(gateway: RunningGateway, request_id: str) -> dict[str, Any]:
    path = Path(gateway.settings.audit_sink() or "")
    for _ in range(100):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["request_id"] == request_id:
                return dict(record)
        time.sleep(0.02)
    raise AssertionError(f"no audit line for {request_id}")


def test_the_base_challenges_anonymous_callers(oci_gateway: RunningGateway) -> None:
    response = httpx.get(f"{oci_gateway.url}/v2/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    said = challenge(response)
    assert said == {"realm": f"{oci_gateway.url}/v2/token", "service": "artifact-store"}


def test_a_token_grants_only_what_the_caller_may(user: Any) -> None:
    alice = user("alice")  # artifact-reader
    token = alice.token("repository:team-a/x:pull,push,delete", "registry:catalog:*")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert {(a["type"], a["name"]): a["actions"] for a in claims["access"]} == {
        ("repository", "team-a/x"): ["pull"],
        ("registry", "catalog"): ["*"],
    }
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 300


def test_wrong_credentials_get_no_token(oci_gateway: RunningGateway) -> None:
    for client in (
        OciClient(oci_gateway.url, "alice", "wrong"),
        OciClient(oci_gateway.url, ACCESS_KEY, "wrong"),
        OciClient(oci_gateway.url, bearer="not-a-token"),
    ):
        response = client.token_response("repository:team-a/x:pull")
        assert response.status_code == 401, response.text
        assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_push_and_pull_an_image(root: OciClient, oci_gateway: RunningGateway) -> None:
    repository = unique()
    layer = b"layer bytes " * 1000
    digest = root.push_image(repository, "1.0", [layer])
    scope = f"repository:{repository}:pull"
    got = root.request(
        "GET", f"/v2/{repository}/manifests/1.0", scope, headers={"Accept": MANIFEST}
    )
    assert got.status_code == 200
    assert got.headers["docker-content-digest"] == digest == digest_of(got.content)
    head = root.request("HEAD", f"/v2/{repository}/blobs/{digest_of(layer)}", scope)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(layer)
    blob = root.request("GET", f"/v2/{repository}/blobs/{digest_of(layer)}", scope)
    assert blob.content == layer
    ranged = root.request(
        "GET", f"/v2/{repository}/blobs/{digest_of(layer)}", scope, headers={"Range": "bytes=0-4"}
    )
    assert ranged.status_code == 206
    assert ranged.content == b"layer"
    assert "x-request-id" in got.headers
    line = audit(oci_gateway, got.headers["x-request-id"])
    assert line["operation"] == "GetManifest"
    assert line["action"] == "s3:GetObject"
    assert line["decision"] == "allow"
    assert line["status"] == 200
    assert line["bytes_out"] == len(got.content)


def test_a_chunked_upload_is_told_the_gateways_locations(
    root: OciClient, oci_gateway: RunningGateway
) -> None:
    repository = unique()
    scope = f"repository:{repository}:pull,push"
    data = b"0123456789" * 10000
    started = root.request("POST", f"/v2/{repository}/blobs/uploads/", scope)
    assert started.status_code == 202
    location = started.headers["location"]
    registry_port = str(httpx.URL(oci_gateway.settings.registry_url).port)
    assert registry_port not in location
    first = root.request(
        "PATCH",
        location,
        scope,
        content=data[:50000],
        headers={"Content-Type": "application/octet-stream", "Content-Range": "0-49999"},
    )
    assert first.status_code == 202, first.text
    assert first.headers["range"] == "0-49999"
    # Zot names the session in Blob-Upload-UUID (distribution: Docker-Upload-UUID); it passes.
    assert {"blob-upload-uuid", "docker-upload-uuid"} & set(first.headers)
    status = root.request("GET", first.headers["location"], scope)
    assert status.status_code == 204
    assert status.headers["range"] == "0-49999"
    second = root.request(
        "PATCH",
        first.headers["location"],
        scope,
        content=data[50000:],
        headers={"Content-Type": "application/octet-stream", "Content-Range": "50000-99999"},
    )
    assert second.status_code == 202, second.text
    location = second.headers["location"]
    joiner = "&" if "?" in location else "?"
    done = root.request("PUT", f"{location}{joiner}digest={digest_of(data)}", scope)
    assert done.status_code == 201, done.text
    assert done.headers["docker-content-digest"] == digest_of(data)
    fetched = root.request("GET", f"/v2/{repository}/blobs/{digest_of(data)}", scope)
    assert fetched.content == data


def test_mount_needs_pull_on_the_source(user: Any, root: OciClient) -> None:
    source = unique("other-ns")  # dave may not read it
    layer = b"mounted layer"
    root.push_image(source, "1", [layer])
    dave = user("dave")  # /buckets/team-a/writers
    target = unique()
    scopes = (f"repository:{target}:pull,push", f"repository:{source}:pull")
    path = f"/v2/{target}/blobs/uploads/"
    refused = dave.request(
        "POST", path, *scopes, params={"mount": digest_of(layer), "from": source}
    )
    assert refused.status_code == 202  # an ordinary upload instead of the mount
    mounted = root.request(
        "POST", path, *scopes, params={"mount": digest_of(layer), "from": source}
    )
    assert mounted.status_code == 201
    assert mounted.headers["location"].endswith(f"/v2/{target}/blobs/{digest_of(layer)}")


def test_tags_are_paginated(root: OciClient) -> None:
    repository = unique()
    for tag in ("a", "b", "c"):
        root.push_image(repository, tag, [tag.encode()])
    scope = f"repository:{repository}:pull"
    first = root.request("GET", f"/v2/{repository}/tags/list", scope, params={"n": "2"})
    assert first.json()["tags"] == ["a", "b"]
    link = first.headers["link"]
    assert link.startswith(f"</v2/{repository}/tags/list?")
    assert 'rel="next"' in link
    following = link[1 : link.index(">")]
    rest = root.request("GET", following, scope)
    assert rest.json()["tags"] == ["c"]


def test_referrers_api(root: OciClient) -> None:
    repository = unique()
    subject = root.push_image(repository, "1", [b"subject"])
    signature = b"signature bytes"
    root.push_blob(repository, signature)
    size = len(
        root.request(
            "GET",
            f"/v2/{repository}/manifests/1",
            f"repository:{repository}:pull",
            headers={"Accept": MANIFEST},
        ).content
    )
    body = manifest([signature], {"mediaType": MANIFEST, "digest": subject, "size": size})
    pushed = root.push_manifest(repository, digest_of(body), body)
    assert pushed.status_code == 201
    assert pushed.headers["oci-subject"] == subject
    listed = root.request(
        "GET", f"/v2/{repository}/referrers/{subject}", f"repository:{repository}:pull"
    )
    assert [d["digest"] for d in listed.json()["manifests"]] == [digest_of(body)]


def test_a_reader_cannot_push(
    user: Any, oci_gateway: RunningGateway, keycloak: RunningKeycloak
) -> None:
    alice = user("alice")
    repository = unique()
    scope = f"repository:{repository}:pull,push"
    response = alice.request("POST", f"/v2/{repository}/blobs/uploads/", scope)
    assert response.status_code == 401
    assert challenge(response)["error"] == "insufficient_scope"
    # Basic straight on /v2/ (no token): the decision itself refuses.
    pair = base64.b64encode(f"alice:{keycloak.passwords['alice']}".encode()).decode()
    direct = httpx.post(
        f"{oci_gateway.url}/v2/{repository}/blobs/uploads/",
        headers={"Authorization": f"Basic {pair}"},
    )
    assert direct.status_code == 403
    assert direct.json()["errors"][0]["code"] == "DENIED"
    line = audit(oci_gateway, direct.headers["x-request-id"])
    assert (line["operation"], line["action"], line["decision"]) == (
        "StartBlobUpload",
        "s3:PutObject",
        "deny",
    )
    assert line["principal"] == "alice"


def test_a_group_writes_its_namespace_only(user: Any) -> None:
    dave = user("dave")
    dave.push_image(unique("team-a"), "1", [b"dave's"])
    other = unique("team-b")
    response = dave.request("POST", f"/v2/{other}/blobs/uploads/", f"repository:{other}:pull,push")
    assert response.status_code == 401  # the token has no push on team-b


def test_a_keycloak_token_works_straight_on_v2(
    root: OciClient, oci_gateway: RunningGateway, keycloak: RunningKeycloak
) -> None:
    repository = unique()
    root.push_image(repository, "1", [b"x"])
    token = keycloak.password_token("alice")
    response = httpx.get(
        f"{oci_gateway.url}/v2/{repository}/tags/list", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json()["tags"] == ["1"]
    via_token_endpoint = OciClient(oci_gateway.url, bearer=token)
    assert via_token_endpoint.token_response(f"repository:{repository}:pull").status_code == 200


def test_anonymous_pulls_only_what_a_policy_makes_public(
    root: OciClient, oci_gateway: RunningGateway
) -> None:
    namespace = f"pub-{uuid.uuid4().hex[:8]}"
    repository = f"{namespace}/app"
    root.push_image(repository, "1", [b"public bytes"])
    anonymous = OciClient(oci_gateway.url)
    scope = f"repository:{repository}:pull"
    refused = anonymous.request("GET", f"/v2/{repository}/manifests/1", scope)
    assert refused.status_code == 401
    assert challenge(refused)["scope"] == scope
    s3 = s3_client(oci_gateway.url)
    s3.create_bucket(Bucket=namespace)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{namespace}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=namespace, Policy=json.dumps(policy))
    anonymous.tokens.clear()
    allowed = anonymous.request(
        "GET", f"/v2/{repository}/manifests/1", scope, headers={"Accept": MANIFEST}
    )
    assert allowed.status_code == 200
    push = f"repository:{repository}:pull,push"
    assert anonymous.request("POST", f"/v2/{repository}/blobs/uploads/", push).status_code == 401


def test_s3_objects_are_read_only_but_for_referrers(
    root: OciClient, oci_gateway: RunningGateway
) -> None:
    s3 = s3_client(oci_gateway.url)
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="dir/file.bin", Body=b"object bytes")
    reference = put["ResponseMetadata"]["HTTPHeaders"]["x-artifact-store-oci-reference"]
    repository, _, tag = reference.rpartition(":")
    assert repository.startswith(f"{PREFIX}/{bucket}/")
    scope = f"repository:{repository}:pull,push,delete"
    got = root.request(
        "GET", f"/v2/{repository}/manifests/{tag}", scope, headers={"Accept": MANIFEST}
    )
    assert got.status_code == 200
    subject = got.headers["docker-content-digest"]
    # Overwriting the object's tag, pushing by another tag, deleting: refused, even to root.
    retag = root.push_manifest(repository, tag, manifest([]))
    assert retag.status_code == 403
    assert retag.json()["errors"][0]["code"] == "DENIED"
    assert root.push_manifest(repository, "other", manifest([])).status_code == 403
    deleted = root.request("DELETE", f"/v2/{repository}/manifests/{subject}", scope)
    assert deleted.status_code == 403
    assert s3.get_object(Bucket=bucket, Key="dir/file.bin")["Body"].read() == b"object bytes"
    # A referrer (a manifest with a subject, by digest) may be attached.
    sbom = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}).encode()
    root.push_blob(repository, b"{}")
    root.push_blob(repository, sbom)
    body = json.loads(
        manifest([sbom], {"mediaType": MANIFEST, "digest": subject, "size": len(got.content)})
    )
    body["artifactType"] = "application/vnd.cyclonedx+json"
    body["layers"][0]["mediaType"] = "application/vnd.cyclonedx+json"
    raw = json.dumps(body).encode()
    attached = root.push_manifest(repository, digest_of(raw), raw)
    assert attached.status_code == 201, attached.text
    listed = httpx.get(
        f"{oci_gateway.url}/_artifacts/referrers/{bucket}",
        params={"key": "dir/file.bin"},
        headers=root.credentials(),
    )
    assert listed.status_code == 200, listed.text
    assert digest_of(raw) in json.dumps(listed.json())


def test_the_catalog_shows_what_the_caller_may_list(user: Any, root: OciClient) -> None:
    mine, theirs = unique("team-a"), unique("team-c")
    root.push_image(mine, "1", [b"1"])
    root.push_image(theirs, "1", [b"2"])
    dave = user("dave")
    seen = dave.request("GET", "/v2/_catalog", "registry:catalog:*").json()["repositories"]
    assert mine in seen
    assert theirs not in seen
    # Repositories of namespace team-a, and those of the S3 bucket team-a if it exists.
    assert all(name.startswith(("team-a/", f"{PREFIX}/team-a/")) for name in seen)
    everything = root.request("GET", "/v2/_catalog", "registry:catalog:*").json()["repositories"]
    assert {mine, theirs} <= set(everything)
    paged = root.request("GET", "/v2/_catalog", "registry:catalog:*", params={"n": "1"})
    assert len(paged.json()["repositories"]) == 1
    assert 'rel="next"' in paged.headers["link"]


def test_an_expired_or_foreign_token_is_refused(oci_gateway: RunningGateway) -> None:
    forged = jwt.encode(
        {"iss": "artifact-store-registry", "aud": "artifact-store", "exp": 2**31, "iat": 0},
        "a guessed key, long enough for HS256",
        algorithm="HS256",
    )
    response = httpx.get(f"{oci_gateway.url}/v2/", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_an_images_referrers_show_in_its_verdict(
    root: OciClient, oci_gateway: RunningGateway
) -> None:
    repository = unique(f"no-bucket-{uuid.uuid4().hex[:6]}")  # no trust applies
    subject = root.push_image(repository, "1.0", [b"image layer"])
    scope = f"repository:{repository}:pull"
    size = len(
        root.request(
            "GET", f"/v2/{repository}/manifests/1.0", scope, headers={"Accept": MANIFEST}
        ).content
    )
    sbom = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}).encode()
    root.push_blob(repository, sbom)
    body = json.loads(manifest([sbom], {"mediaType": MANIFEST, "digest": subject, "size": size}))
    body["artifactType"] = "application/vnd.cyclonedx+json"
    body["layers"][0]["mediaType"] = "application/vnd.cyclonedx+json"
    raw = json.dumps(body).encode()
    assert root.push_manifest(repository, digest_of(raw), raw).status_code == 201
    verdict = httpx.get(
        f"{oci_gateway.url}/_artifacts/verify",
        params={"image": f"{oci_gateway.url.removeprefix('http://')}/{repository}:1.0"},
        headers=root.credentials(),
    )
    assert verdict.status_code == 200, verdict.text
    found = verdict.json()
    assert found["manifest_digest"] == subject
    assert found["trust_bucket"] is None
    assert found["signed"] is False
    assert [(s["digest"], s["valid"]) for s in found["sboms"]] == [(digest_of(raw), True)]
    missing = httpx.get(
        f"{oci_gateway.url}/_artifacts/verify",
        params={"image": f"{repository}:nope"},
        headers=root.credentials(),
    )
    assert missing.status_code == 404
