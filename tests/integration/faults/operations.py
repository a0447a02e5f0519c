"""The operations the kill scenarios stop at each registry request: PutObject (a new key, and
over a signed one), UploadPart, CompleteMultipartUpload, DeleteObject (of a signed object) and
attaching a signature (JSON API). Each runs in a bucket of its own, prepared the same way
every time, so that a clean run makes exactly the registry requests of its ``requests``
(``test_a_clean_run_makes_exactly_these_requests`` pins them: a new step fails it until it is
listed, and is then faulted at too).

``old`` and ``new`` are the only views a client may read of the key once the operation ran
or failed anywhere (wholly old, wholly new, never a mix); ``acked`` are the objects the
preparation wrote, acknowledged, which must read back as written whatever happens.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
from botocore.exceptions import ClientError

from gateway.domain import mapping
from tests.conftest import s3_client
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.supply_chain import dump, sigstore_bundle
from tests.integration.api.test_access_keys import BASIC
from tests.integration.faults.stack import PREFIX

KEY = "releases/app-1.0.tar.gz"
OLD = b"the old version's bytes\n" * 40
NEW = b"the new version: other bytes, another length\n" * 30
PART_ONE, PART_TWO = b"first part " * 50, b"second part"
SIGNATURE = dump(sigstore_bundle(OLD))  # made once: an ECDSA signature differs each time
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"

# The registry requests, as (method, what the target names after the key's repository).
HEAD_CONFIG = ("HEAD", "blobs/sha256:")  # the empty config blob: ensure_blob
PUSH_BLOB = ("POST", r"blobs/uploads/\?digest=")  # the body, in one request
PUSH_OBJECT = ("PUT", "manifests/o-")  # the object's manifest, under the key's tag
DELETE_MANIFEST = ("DELETE", "manifests/sha256:")
REFERRERS_TAG = ("GET", "manifests/sha256-")  # the referrers fallback tag (dropped if there)
GET_OBJECT = ("GET", "manifests/o-")
HEAD_DOCUMENT = ("HEAD", "blobs/sha256:")
REFERRERS = ("GET", "referrers/sha256:")
PUSH_REFERRER = ("PUT", "manifests/sha256:")
PUSH_PART = ("PUT", "manifests/p-")
# The requests that change what the registry names (manifest pushes and deletes). Only after
# these can the gateway's state differ from "before the next request" (it writes the index
# after them), so only these are also stopped at their answer (see test_gateway_kill.py).
WRITES = frozenset({PUSH_OBJECT, DELETE_MANIFEST, PUSH_REFERRER, PUSH_PART})


def etag(*pieces: bytes, multipart: bool = False) -> str:
    """S3's ETag of a body, or (``multipart``, or several pieces) of an object of parts."""
    if len(pieces) == 1 and not multipart:
        return f'"{hashlib.md5(pieces[0], usedforsecurity=False).hexdigest()}"'
    md5s = b"".join(hashlib.md5(p, usedforsecurity=False).digest() for p in pieces)
    return f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(pieces)}"'


@dataclass(frozen=True)
class View:
    """What a client reads of the key: its bytes (None: NoSuchKey), the signatures a listing
    shows and the count HEAD shows, and for multipart the upload's parts (None: no upload)."""

    body: bytes | None
    signatures: tuple[bytes, ...] = ()
    counted: int = 0
    parts: tuple[tuple[int, str], ...] | None = None


@dataclass
class Operation:
    """One operation on ``KEY`` of ``bucket``, after ``prepare``."""

    name: ClassVar[str]
    requests: ClassVar[tuple[tuple[str, str], ...]]
    old: ClassVar[View]
    new: ClassVar[View]
    bucket: str
    url: str
    acked: dict[str, bytes] = field(default_factory=dict)
    upload_id: str | None = None
    signature: str | None = None  # the attached signature's referrer manifest digest
    _client: Any = None

    def s3(self) -> Any:
        if self._client is None:
            self._client = s3_client(self.url)
        return self._client

    def prepare(self) -> None:
        self.s3().create_bucket(Bucket=self.bucket)

    def run(self) -> None:
        raise NotImplementedError

    def put(self, key: str, body: bytes) -> None:
        self.s3().put_object(Bucket=self.bucket, Key=key, Body=body)
        self.acked[key] = body

    def attach(self) -> None:
        answer = httpx.post(
            f"{self.url}/_artifacts/referrers/{self.bucket}",
            params={"key": KEY, "kind": "signature"},
            content=SIGNATURE,
            headers={"Content-Type": BUNDLE, **BASIC},
            timeout=120,
        )
        if answer.status_code != 201:
            raise ClientError(
                {"Error": {"Code": str(answer.status_code), "Message": answer.text}}, "Attach"
            )
        self.signature = answer.json()["digest"]

    def read(self) -> View:
        s3 = self.s3()
        parts = None
        if self.upload_id is not None:
            try:
                listed = s3.list_parts(Bucket=self.bucket, Key=KEY, UploadId=self.upload_id)
                parts = tuple((p["PartNumber"], p["ETag"]) for p in listed.get("Parts", []))
            except ClientError as error:
                if error.response["Error"]["Code"] != "NoSuchUpload":
                    raise
        try:
            body = s3.get_object(Bucket=self.bucket, Key=KEY)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchKey":
                raise
            return View(None, parts=parts)
        # The listing first: it records referrers the registry has and the index lacks
        # (referrers.discover, the designed repair); HEAD's count reads the index only.
        listed = httpx.get(
            f"{self.url}/_artifacts/referrers/{self.bucket}",
            params={"key": KEY},
            headers=BASIC,
            timeout=30,
        )
        listed.raise_for_status()
        documents = tuple(
            sorted(
                httpx.get(
                    f"{self.url}/_artifacts/referrers/{self.bucket}/{item['digest']}",
                    params={"key": KEY},
                    headers=BASIC,
                    timeout=30,
                ).content
                for item in listed.json()
            )
        )
        head = s3.head_object(Bucket=self.bucket, Key=KEY)["ResponseMetadata"]["HTTPHeaders"]
        return View(body, documents, int(head["x-artifact-store-signatures"]), parts)

    def repository(self) -> str:
        """The pattern of the requests to this operation's bucket (its key's repository)."""
        return f"^/v2/{PREFIX}/{self.bucket}/[0-9a-f]{{2}}/"

    def tagged(self, registry: RunningRegistry, tag: str | None = None) -> str | None:
        """The digest of the manifest the key's tag (or ``tag`` in its repository) names in
        the registry itself; None if there is no such tag."""
        where = mapping.locate(PREFIX, self.bucket, KEY)
        with registry.http() as http:
            answer = http.head(
                f"/v2/{where.repository}/manifests/{tag or where.tag}",
                headers={"Accept": mapping.MANIFEST_MEDIA_TYPE},
            )
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return str(answer.headers["Docker-Content-Digest"])

    def row(self) -> str:
        return f"{self.bucket}/{KEY}"


class PutNew(Operation):
    name = "put-new"
    requests: ClassVar[tuple[tuple[str, str], ...]] = (HEAD_CONFIG, PUSH_BLOB, PUSH_OBJECT)
    old = View(None)
    new = View(NEW)

    def run(self) -> None:
        self.s3().put_object(Bucket=self.bucket, Key=KEY, Body=NEW)


class PutOverwrite(PutNew):
    """Over a signed version: the old manifest, the referrers tag and the signature go too."""

    name = "put-overwrite"
    requests = (PUSH_BLOB, PUSH_OBJECT, DELETE_MANIFEST, REFERRERS_TAG, DELETE_MANIFEST)
    old = View(OLD, (SIGNATURE,), 1)

    def prepare(self) -> None:
        super().prepare()
        self.put(KEY, OLD)
        self.attach()
        del self.acked[KEY]  # the operation overwrites it


class UploadPart(Operation):
    name = "upload-part"
    requests = (PUSH_BLOB, PUSH_PART)
    old = View(None, parts=())
    new = View(None, parts=((1, etag(PART_ONE)),))

    def prepare(self) -> None:
        super().prepare()
        s3 = self.s3()
        self.upload_id = s3.create_multipart_upload(Bucket=self.bucket, Key=KEY)["UploadId"]

    def run(self) -> None:
        self.s3().upload_part(
            Bucket=self.bucket, Key=KEY, UploadId=self.upload_id, PartNumber=1, Body=PART_ONE
        )


class Complete(Operation):
    name = "complete"
    requests = (PUSH_OBJECT, DELETE_MANIFEST, DELETE_MANIFEST, DELETE_MANIFEST)
    old = View(None, parts=((1, etag(PART_ONE)), (2, etag(PART_TWO))))
    new = View(PART_ONE + PART_TWO)

    def prepare(self) -> None:
        super().prepare()
        s3 = self.s3()
        self.upload_id = s3.create_multipart_upload(Bucket=self.bucket, Key=KEY)["UploadId"]
        for number, body in enumerate((PART_ONE, PART_TWO), 1):
            s3.upload_part(
                Bucket=self.bucket, Key=KEY, UploadId=self.upload_id, PartNumber=number, Body=body
            )

    def run(self) -> None:
        parts = [{"PartNumber": n, "ETag": etag(p)} for n, p in enumerate((PART_ONE, PART_TWO), 1)]
        self.s3().complete_multipart_upload(
            Bucket=self.bucket, Key=KEY, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
        )


class Delete(Operation):
    name = "delete"
    requests = (GET_OBJECT, DELETE_MANIFEST, REFERRERS_TAG, DELETE_MANIFEST)
    old = View(OLD, (SIGNATURE,), 1)
    new = View(None)

    def prepare(self) -> None:
        super().prepare()
        self.put(KEY, OLD)
        self.attach()
        del self.acked[KEY]  # the operation deletes it

    def run(self) -> None:
        self.s3().delete_object(Bucket=self.bucket, Key=KEY)


class Attach(Operation):
    name = "attach"
    requests = (HEAD_DOCUMENT, REFERRERS, PUSH_REFERRER)
    old = View(OLD)
    new = View(OLD, (SIGNATURE,), 1)

    def prepare(self) -> None:
        super().prepare()
        self.put(KEY, OLD)

    def run(self) -> None:
        self.attach()


OPERATIONS: dict[str, type[Operation]] = {
    op.name: op for op in (PutNew, PutOverwrite, UploadPart, Complete, Delete, Attach)
}


def points(stages: tuple[str, ...] = ("request", "response")) -> list[tuple[str, int, str]]:
    """(operation, n, stage): every request at the request stage, the writes (WRITES) at
    the response stage too."""
    found = []
    for name, op in OPERATIONS.items():
        for n, request in enumerate(op.requests, 1):
            for stage in stages:
                if stage == "request" or request in WRITES:
                    found.append((name, n, stage))
    return found
