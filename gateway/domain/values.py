"""Values the domain passes between layers: immutable, typed, free of HTTP and SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Layer:
    """One stored blob of an object, in order (one for a single-part object). A multipart
    object's layer is a part: ``checksum`` is the part's own (base64, in the upload's
    checksum algorithm) when the upload had one; GetObjectAttributes lists it."""

    digest: str
    size: int
    checksum: str | None = None


@dataclass(frozen=True)
class BucketRecord:
    name: str
    created: datetime
    region: str = "us-east-1"
    settings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectLock:
    """A version's Object Lock state: its retention (``mode`` GOVERNANCE or COMPLIANCE until
    ``until``) and its legal hold. ``manifest``: the lock manifest (a referrer of the version)
    that holds it when it was set after the write; None: it is the one in the version's own
    manifest (or there is none)."""

    mode: str | None = None
    until: datetime | None = None
    legal_hold: bool = False
    manifest: str | None = None

    @property
    def empty(self) -> bool:
        return self.mode is None and not self.legal_hold

    def retained(self, moment: datetime) -> bool:
        """Whether a retention period still runs at ``moment``."""
        return self.mode is not None and self.until is not None and self.until > moment


NO_LOCK = ObjectLock()


@dataclass(frozen=True)
class ObjectRecord:
    """What the index knows of one live object; rebuilt from its manifest by ``reindex``."""

    bucket: str
    key: str
    manifest_digest: str
    size: int
    etag: str  # quoted, as S3 returns it
    last_modified: datetime
    layers: tuple[Layer, ...]
    headers: dict[str, str] = field(default_factory=dict)  # Content-Type, Cache-Control, ...
    metadata: dict[str, str] = field(default_factory=dict)  # x-amz-meta-* without the prefix
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm -> base64 value
    tags: dict[str, str] = field(default_factory=dict)  # the object's current tag set
    # The tagging manifest (a referrer of this version) that holds ``tags`` when they were
    # set after the write; None: the tags are the ones in the object's own manifest.
    tagging: str | None = None
    # The S3 version id; None is the ``null`` version (every object of a bucket never
    # versioned, and those written while versioning was suspended).
    version_id: str | None = None
    # A delete marker (versioned buckets): no bytes, it only makes the key answer 404.
    delete_marker: bool = False
    lock: ObjectLock = NO_LOCK  # Object Lock retention and legal hold of this version

    @property
    def version(self) -> str:
        """The VersionId S3 shows (``null`` for the null version)."""
        return self.version_id or "null"

    @property
    def checksum_algorithm(self) -> str | None:
        """The algorithm the client uploaded with; else SHA256, which every object carries."""
        chosen = [name for name in self.checksums if name != "SHA256"]
        if chosen:
            return chosen[0]
        return "SHA256" if "SHA256" in self.checksums else None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "binary/octet-stream")


@dataclass(frozen=True)
class UploadRecord:
    """A multipart upload between CreateMultipartUpload and Complete or Abort."""

    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    headers: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    checksum_algorithm: str | None = None  # CRC32, CRC32C, CRC64NVME, SHA1, SHA256
    checksum_type: str | None = None  # COMPOSITE or FULL_OBJECT
    length: int | None = None  # the whole object's, when declared up front (tus)
    tags: dict[str, str] = field(default_factory=dict)  # x-amz-tagging, for the object
    lock: ObjectLock = NO_LOCK  # x-amz-object-lock-*, for the object (Complete applies it)
    completed: bool = False


@dataclass(frozen=True)
class PartRecord:
    """One uploaded part: its own blob, kept alive in the registry by a part manifest."""

    part_number: int
    size: int
    etag: str  # quoted MD5 hex of the part
    digest: str  # the part's blob
    last_modified: datetime
    manifest_digest: str
    checksum: str | None = None  # base64, of the upload's checksum algorithm

    @property
    def md5(self) -> bytes:
        return bytes.fromhex(self.etag.strip('"'))


@dataclass(frozen=True)
class ReferrerRecord:
    """A signature, SBOM or attestation of one object: an OCI manifest whose ``subject`` is
    the object's manifest (``subject``), with the document as its one layer (``blob_digest``)."""

    bucket: str
    key: str
    subject: str  # the object's manifest digest when it was attached
    digest: str  # the referrer manifest's digest
    kind: str  # signature, sbom or attestation
    artifact_type: str
    media_type: str  # the document's (the layer's) media type
    blob_digest: str
    size: int  # the document's size in bytes
    manifest_size: int
    created: datetime
    predicate_type: str | None = None  # an in-toto statement's predicateType, if any


@dataclass(frozen=True)
class IndexContents:
    """The rows ``reindex`` rebuilds, as records: what the registry says the index should
    hold (``reindex.rebuild``), or what it holds (``Index.contents``, which also returns the
    completed uploads kept for a repeated Complete, marked ``completed``)."""

    buckets: tuple[BucketRecord, ...] = ()
    objects: tuple[ObjectRecord, ...] = ()  # each key's live object
    versions: tuple[ObjectRecord, ...] = ()  # noncurrent versions and delete markers
    referrers: tuple[ReferrerRecord, ...] = ()
    uploads: tuple[UploadRecord, ...] = ()
    parts: tuple[tuple[str, PartRecord], ...] = ()  # (upload id, part)


@dataclass(frozen=True)
class AccessKeyRecord:
    """A service account's key; ``secret_sealed`` is opened only to check a signature."""

    access_key_id: str
    secret_sealed: str
    owner: str
    created: datetime
    subject: str | None = None
    roles: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    policy: str | None = None
    description: str = ""
    revoked: datetime | None = None


@dataclass(frozen=True)
class Principal:
    """Who is asking; the decision layer reads nothing else of the request's identity.

    ``method`` is how the caller authenticated: ``root`` (the configured root key, SigV4 or
    SigV2), ``bearer`` (a Keycloak JWT), ``sts`` (temporary SigV4 credentials from
    AssumeRoleWithWebIdentity), ``access-key`` (a service account's SigV4 key), ``basic``
    (an access key and secret over HTTP Basic on the JSON API) or ``anonymous``.
    ``policies`` are IAM-style JSON documents that can only narrow what roles, groups and
    bucket policies allow (an STS session policy, an access key's own policy).
    ``session_arn`` is an STS session's ``arn:aws:sts::<account>:assumed-role/<role>/<name>``."""

    name: str  # the Keycloak username (preferred_username), "root", or "anonymous"
    method: str
    access_key: str | None = None
    subject: str | None = None  # the token's "sub"
    roles: frozenset[str] = frozenset()  # Keycloak realm roles
    groups: frozenset[str] = frozenset()  # Keycloak group paths, e.g. /buckets/demo/readers
    policies: tuple[str, ...] = ()
    session_arn: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.method == "anonymous"

    @property
    def root(self) -> bool:
        return self.method == "root"


ANONYMOUS = Principal(name="anonymous", method="anonymous")
