"""The web console end to end in headless Chromium, against the real gateway, Zot and Keycloak:
log in through Keycloak's page, create a bucket, upload 50 MiB by tus and reload mid-upload
(it resumes where it stood), browse, download and compare SHA-256, attach an SBOM and see its
components, see a tampered object fail its verdict, a reader without the upload button, a
user whom only a bucket policy lets write with it, admin pages; axe-core on each page, a
screenshot of each (docs/console.md).

The tests of this module run in order and share the admin's (carol's) browser session."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Request, Response, Route, expect

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.fixtures import supply_chain as docs
from tests.fixtures.servers import RunningGateway
from tests.integration.console.conftest import Session, sha256_of

BUCKET = f"console-{uuid.uuid4().hex[:8]}"
SIGNED = f"signed-{uuid.uuid4().hex[:8]}"
BIG = "big/fifty.bin"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def carol(new_session: Any) -> Session:
    """The admin (artifact-admin), logged in once for the module."""
    session: Session = new_session()
    session.page.goto(f"{session.base}/_artifacts/ui/")
    session.axe("sign-in page")
    session.shot("sign-in")
    session.login("carol", "carol-password")
    return session


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("upload") / "fifty.bin"
    with path.open("wb") as handle:
        for _ in range(50):
            handle.write(os.urandom(MIB))
    return path


def root_s3(gateway: RunningGateway) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=gateway.url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


def test_login_goes_through_keycloak_and_shows_the_user(carol: Session) -> None:
    expect(carol.page.get_by_test_id("username")).to_have_text("carol")
    expect(carol.page.get_by_role("link", name="Admin")).to_be_visible()


def test_create_a_bucket(carol: Session) -> None:
    page = carol.page
    page.get_by_label("New bucket name").fill(BUCKET)
    page.get_by_role("button", name="Create bucket").click()
    expect(page.get_by_role("link", name=BUCKET, exact=True)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=BUCKET)
    expect(row.get_by_text("private")).to_be_visible()
    carol.axe("buckets")
    carol.shot("buckets")


def test_a_bad_bucket_name_shows_the_problem_not_a_trace(carol: Session) -> None:
    page = carol.page
    # The browser's own check is bypassed: the gateway's answer is what is shown.
    page.get_by_label("New bucket name").evaluate("input => input.removeAttribute('pattern')")
    page.get_by_label("New bucket name").fill("Bad_Name")
    page.get_by_role("button", name="Create bucket").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("InvalidBucketName")
    assert "Traceback" not in alert.inner_text()


def test_upload_50_mib_reload_midway_and_resume(carol: Session, big_file: Path) -> None:
    page = carol.page
    page.get_by_role("link", name=BUCKET, exact=True).click()
    page.get_by_label("Search by prefix").wait_for()
    # A slow link: each PATCH (8 MiB) waits a second, so the reload lands mid-upload.
    creations: list[str] = []
    heads: list[int] = []
    patches: list[int] = []

    def slow(route: Route, request: Request) -> None:
        if request.method == "PATCH":
            time.sleep(1.0)
        route.continue_()

    def seen(request: Request) -> None:
        if "/_artifacts/uploads" not in request.url:
            return
        if request.method == "POST":
            creations.append(request.url)
        if request.method == "PATCH":
            patches.append(int(request.headers["upload-offset"]))

    def answered(response: Response) -> None:
        if "/_artifacts/uploads/" in response.url and response.request.method == "HEAD":
            heads.append(int(response.headers.get("upload-offset", "-1")))

    page.route("**/_artifacts/uploads**", slow)
    page.on("request", seen)
    page.on("response", answered)
    # into folder big/: browse there first, the upload lands under the current prefix
    page.get_by_label("Search by prefix").fill("big/")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**prefix=big%2F")
    page.locator("#upload-files").set_input_files(str(big_file))
    progress = page.get_by_label(f"Upload of {BIG}")
    page.wait_for_function(
        "el => Number(el.value) >= 16 * 1024 * 1024", arg=progress.element_handle()
    )
    carol.shot("upload-in-progress")
    assert len(creations) == 1
    page.reload()  # mid-upload: the console signs in again through Keycloak's session
    page.get_by_test_id("username").wait_for()
    unfinished = page.get_by_test_id("unfinished")
    expect(unfinished).to_contain_text(BIG)
    carol.shot("upload-unfinished")
    before = len(patches)
    page.locator("#upload-files").set_input_files(str(big_file))
    status = page.get_by_test_id("upload-status")
    expect(status).to_contain_text("done", timeout=180_000)
    expect(status).to_contain_text("resumed at")
    assert len(creations) == 1, "the reload started a new upload instead of resuming"
    assert heads, "no HEAD: the upload was not resumed"
    assert heads[-1] >= 8 * MIB, heads
    assert patches[before] == heads[-1], (patches, heads)
    page.unroute("**/_artifacts/uploads**")
    expect(page.get_by_role("link", name="fifty.bin")).to_be_visible()
    carol.axe("objects")
    carol.shot("objects")


def test_download_matches_the_upload(carol: Session, big_file: Path) -> None:
    page = carol.page
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Download fifty.bin").click()
    download = waiting.value
    saved = Path(download.path())
    assert saved.stat().st_size == big_file.stat().st_size
    assert sha256_of(saved) == sha256_of(big_file)


def test_browse_folders_and_pages(carol: Session, console_gateway: RunningGateway) -> None:
    s3 = root_s3(console_gateway)
    for index in range(105):
        s3.put_object(Bucket=BUCKET, Key=f"many/item-{index:03d}.txt", Body=b"x")
    page = carol.page
    page.get_by_role("link", name=BUCKET).first.click()
    page.get_by_role("link", name="many/").click()
    expect(page.get_by_role("link", name="item-000.txt")).to_be_visible()
    expect(page.get_by_text("Page 1")).to_be_visible()
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_role("link", name="item-104.txt")).to_be_visible()
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(page.get_by_role("link", name="item-000.txt")).to_be_visible()


def test_attach_an_sbom_and_see_its_components(carol: Session, tmp_path: Path) -> None:
    page = carol.page
    page.goto(f"{carol.base}/_artifacts/ui/b/{BUCKET}/o/{BIG}")
    expect(page.get_by_role("heading", name="fifty.bin")).to_be_visible()
    sbom = docs.cyclonedx()
    sbom["components"].append(
        {
            "type": "library",
            "name": "left-pad",
            "version": "1.3.0",
            "purl": "pkg:npm/left-pad@1.3.0",
            "licenses": [{"license": {"id": "MIT"}}],
        }
    )
    path = tmp_path / "sbom.cdx.json"
    path.write_bytes(docs.dump(sbom))
    page.get_by_label("Kind").select_option("sbom")
    page.get_by_label("File", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Attach").click()
    expect(page.get_by_role("status").filter(has_text="Attached")).to_be_visible()
    table = page.get_by_test_id("sbom")
    expect(table.get_by_role("cell", name="pkg:pypi/requests@2.32.3")).to_be_visible()
    expect(table.get_by_role("cell", name="pkg:npm/left-pad@1.3.0")).to_be_visible()
    expect(table.get_by_role("cell", name="MIT")).to_be_visible()
    page.get_by_label("Search components").fill("left-pad")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and left-pad
    page.get_by_label("Search components").fill("")
    carol.axe("object")
    carol.shot("object-sbom")


def pem() -> str:
    return (
        docs.KEY.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_trust_settings_and_a_tampered_object_fails(
    carol: Session, console_gateway: RunningGateway, tmp_path: Path
) -> None:
    s3 = root_s3(console_gateway)
    s3.create_bucket(Bucket=SIGNED)
    original, tampered = b"release 1.0\n", b"release 1.0 with a backdoor\n"
    s3.put_object(Bucket=SIGNED, Key="good.bin", Body=original)
    s3.put_object(Bucket=SIGNED, Key="tampered.bin", Body=tampered)
    page = carol.page
    # trust and require-signature, set in the console
    page.goto(f"{carol.base}/_artifacts/ui/b/{SIGNED}/settings")
    signers = {"keys": [{"name": "release", "public_key": pem()}], "identities": []}
    page.get_by_label("Trusted keys and keyless identities (JSON)").fill(json.dumps(signers))
    page.get_by_label("Require a trusted signature to download").check()
    page.get_by_role("button", name="Save trust").click()
    expect(page.get_by_role("status").filter(has_text="Trust saved.")).to_be_visible()
    # a policy that is not valid: the gateway's reason, inline
    page.get_by_label("Policy JSON (empty: no policy)").fill('{"Version": "2012-10-17"}')
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#policy-error")).to_contain_text("MalformedPolicy")
    carol.axe("settings")
    carol.shot("settings")
    # the same signature (over the original bytes) attached to both objects
    bundle = tmp_path / "release.sigstore.json"
    bundle.write_bytes(docs.dump(docs.sigstore_bundle(original)))
    for key in ("good.bin", "tampered.bin"):
        page.goto(f"{carol.base}/_artifacts/ui/b/{SIGNED}/o/{key}")
        page.get_by_label("Kind").select_option("signature")
        page.get_by_label("File", exact=True).set_input_files(str(bundle))
        page.get_by_role("button", name="Attach").click()
        expect(page.get_by_role("status").filter(has_text="Attached")).to_be_visible()
    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_have_attribute("data-verdict", "fail")
    expect(page.get_by_test_id("signatures")).to_contain_text("not counted")
    carol.axe("object (tampered)")
    carol.shot("object-tampered")
    page.goto(f"{carol.base}/_artifacts/ui/b/{SIGNED}/o/good.bin")
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-verdict", "pass")
    expect(page.get_by_test_id("signatures")).to_contain_text("verified")
    # a SLSA provenance attestation: its predicate type and builder
    envelope = tmp_path / "provenance.dsse.json"
    envelope.write_bytes(docs.dump(docs.dsse_envelope("good.bin", original)))
    page.get_by_label("Kind").select_option("attestation")
    page.get_by_label("File", exact=True).set_input_files(str(envelope))
    page.get_by_role("button", name="Attach").click()
    attestation = page.get_by_test_id("attestation")
    expect(attestation).to_contain_text("https://slsa.dev/provenance/v1")
    expect(attestation).to_contain_text("Builder: https://github.com/actions/runner")
    expect(attestation).to_contain_text("verified")
    carol.axe("object (signed)")
    carol.shot("object-signed")


def test_admin_access_keys_show_the_secret_once(carol: Session) -> None:
    page = carol.page
    page.get_by_role("link", name="Admin").click()
    page.get_by_label("Description").fill("console test")
    page.get_by_role("button", name="Create access key").click()
    key_id = page.get_by_test_id("new-key-id").inner_text()
    secret = page.get_by_test_id("new-key-secret").inner_text()
    assert key_id
    assert len(secret) >= 20
    # the audit log, filtered on the gateway: carol's bucket creation, allowed
    page.get_by_label("Principal").fill("carol")
    page.get_by_label("Action").fill("CreateBucket")
    page.get_by_label("Decision").select_option("allow")
    page.get_by_role("button", name="Filter").click()
    audit = page.get_by_test_id("audit")
    expect(audit.get_by_role("cell", name=f"/{BUCKET}", exact=True)).to_be_visible()
    expect(audit.get_by_role("cell", name="s3:CreateBucket").first).to_be_visible()
    expect(audit.get_by_role("cell", name="alice")).to_have_count(0)
    carol.axe("admin")
    carol.shot("admin")
    page.get_by_role("button", name="I have copied it").click()
    expect(page.get_by_test_id("new-key-secret")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Revoke {key_id}").click()
    expect(page.get_by_role("cell", name=key_id)).to_have_count(0)


def test_delete_an_object_then_the_bucket_with_typed_confirmation(carol: Session) -> None:
    page = carol.page
    page.goto(f"{carol.base}/_artifacts/ui/b/{BUCKET}?prefix=big%2F")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete fifty.bin").click()
    expect(page.get_by_role("link", name="fifty.bin")).to_have_count(0)
    page.get_by_role("link", name="Buckets", exact=True).first.click()
    page.get_by_role("button", name=f"Delete {BUCKET}").click()
    dialog = page.get_by_role("dialog")
    confirm = dialog.get_by_role("button", name="Delete bucket")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("Also delete every object").check()
    dialog.get_by_label("Type the bucket's name to confirm").fill(BUCKET)
    carol.axe("delete dialog")
    carol.shot("delete-bucket")
    confirm.click()
    expect(page.get_by_role("link", name=BUCKET, exact=True)).to_have_count(0)


def test_a_reader_sees_no_upload_button(new_session: Any, console_gateway: RunningGateway) -> None:
    alice: Session = new_session()
    alice.login("alice", "alice-password")
    page = alice.page
    expect(page.get_by_role("link", name=SIGNED, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Create bucket")).to_have_count(0)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    page.get_by_role("link", name=SIGNED, exact=True).click()
    expect(page.get_by_role("link", name="good.bin")).to_be_visible()
    expect(page.get_by_text("Upload files")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete good.bin")).to_have_count(0)
    alice.axe("objects (reader)")
    alice.shot("reader")
    page.goto(f"{alice.base}/_artifacts/ui/admin")  # not linked for her; the gateway refuses
    expect(page.get_by_role("alert")).to_contain_text("alice may not read the audit log")
    assert not alice.csp_violations, alice.csp_violations


def test_a_policy_only_writer_sees_the_upload_control(
    new_session: Any, console_gateway: RunningGateway
) -> None:
    """erin has no role and no group: a bucket policy alone lets her list the bucket and put
    objects under drop/, so the console (asking /_artifacts/permissions) shows her the upload
    control there, and no Delete (the policy does not grant s3:DeleteObject)."""
    bucket = f"erin-{uuid.uuid4().hex[:8]}"
    s3 = root_s3(console_gateway)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="drop/seed.txt", Body=b"seed")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam:::user/erin"},
                "Action": ["s3:ListBucket", "s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam:::user/erin"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/drop/*",
            },
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    erin: Session = new_session()
    erin.login("erin", "erin-password")
    page = erin.page
    page.goto(f"{erin.base}/_artifacts/ui/b/{bucket}?prefix=drop%2F")
    expect(page.get_by_role("link", name="seed.txt")).to_be_visible()
    expect(page.get_by_text("Upload files")).to_be_visible()
    expect(page.get_by_role("button", name="Delete seed.txt")).to_have_count(0)
    erin.axe("objects (policy writer)")
    with page.expect_response(lambda r: "/_artifacts/permissions/" in r.url) as asked:
        page.goto(f"{erin.base}/_artifacts/ui/b/{bucket}?prefix=other%2F")  # outside drop/
    assert asked.value.json()["actions"]["s3:PutObject"] is False
    expect(page.get_by_role("heading", name=bucket)).to_be_visible()
    expect(page.get_by_text("Upload files")).to_have_count(0)
    assert not erin.csp_violations, erin.csp_violations


def test_logout_ends_the_session(carol: Session) -> None:
    page = carol.page
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/_artifacts/ui/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert not carol.csp_violations, carol.csp_violations


def test_console_config_and_headers(console_gateway: RunningGateway) -> None:
    answer = httpx.get(f"{console_gateway.url}/_artifacts/ui/config.json")
    assert answer.json()["clientId"] == "artifact-store-console"
    assert answer.json()["issuer"] == console_gateway.settings.oidc_issuer
    page = httpx.get(f"{console_gateway.url}/_artifacts/ui/b/any/o/deep/key")
    assert page.status_code == 200
    assert '<div id="app">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert console_gateway.settings.oidc_issuer.split("/realms")[0] in policy
