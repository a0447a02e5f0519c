"""The metadata index's tables (SQLAlchemy Core; SQLite by default, PostgreSQL for replicas)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# S3 lists keys in UTF-8 binary order: SQLite's BINARY collation is that; PostgreSQL needs "C".
KeyType = sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")

buckets = sa.Table(
    "buckets",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
)

objects = sa.Table(
    "objects",
    metadata,
    sa.Column("bucket", sa.String(63), sa.ForeignKey("buckets.name"), primary_key=True),
    sa.Column("key", KeyType, primary_key=True),
    sa.Column("manifest_digest", sa.String(80), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("etag", sa.String(80), nullable=False),
    sa.Column("last_modified_ms", sa.BigInteger, nullable=False),
    sa.Column("layers", sa.JSON, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("checksums", sa.JSON, nullable=False),
    # The current tag set, so that GET/HEAD answer x-amz-tagging-count from this row alone;
    # ``tagging``: the tagging manifest holding it, when set after the write (0005).
    sa.Column("tags", sa.JSON, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("tagging", sa.String(80)),
    # The live version's id; NULL: the null version (buckets never versioned: always) (0006).
    sa.Column("version_id", sa.String(64)),
    # Object Lock: the version's retention and legal hold (NULL: none) (0007).
    sa.Column("lock", sa.JSON),
)


def _version_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("bucket", sa.String(63), primary_key=True),
        sa.Column("key", KeyType, primary_key=True),
        sa.Column("version_id", sa.String(64), primary_key=True),  # "null": the null version
        sa.Column("delete_marker", sa.Boolean, nullable=False),
        sa.Column("manifest_digest", sa.String(80), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("last_modified_ms", sa.BigInteger, nullable=False),
        sa.Column("layers", sa.JSON, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("checksums", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("tagging", sa.String(80)),
        sa.Column("lock", sa.JSON),
    ]


# Versioned buckets: every version of a key that is not its live object (noncurrent versions
# and delete markers, the latest one included), each kept in the registry under its own
# ``v-`` tag. The live object stays in ``objects``, so GET and listing read one table as
# before; ListObjectVersions reads both (0006).
versions = sa.Table(
    "versions",
    metadata,
    *_version_columns(),
    sa.Index("versions_by_time", "bucket", "key", "last_modified_ms"),
)

# Multipart uploads: a live upload's row and its parts' rows are also in the registry (its
# ``u-`` record manifest, its ``p-`` part manifests), so ``reindex`` rebuilds them. A completed
# upload keeps its row (``completed_ms``, ``result``) until it expires, so that a repeated
# CompleteMultipartUpload answers the same; that answer lives in the index alone.
uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("upload_id", sa.String(64), primary_key=True),
    sa.Column("bucket", sa.String(63), nullable=False),
    sa.Column("key", KeyType, nullable=False),
    sa.Column("initiated_ms", sa.BigInteger, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("checksum_algorithm", sa.String(16)),
    sa.Column("checksum_type", sa.String(16)),
    sa.Column("length", sa.BigInteger),  # declared up front by a resumable (tus) upload
    sa.Column("tags", sa.JSON, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("lock", sa.JSON),  # x-amz-object-lock-* of CreateMultipartUpload (0008)
    sa.Column("completed_ms", sa.BigInteger),
    sa.Column("result", sa.JSON),
    sa.Index("uploads_by_key", "bucket", "key", "upload_id"),
)

parts = sa.Table(
    "parts",
    metadata,
    sa.Column(
        "upload_id",
        sa.String(64),
        sa.ForeignKey("uploads.upload_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("part_number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("etag", sa.String(80), nullable=False),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("last_modified_ms", sa.BigInteger, nullable=False),
    sa.Column("manifest_digest", sa.String(80), nullable=False),
    sa.Column("checksum", sa.String(80)),
)

# Service accounts: SigV4 keys bound to the identity that made them (its roles and groups as
# they were then), optionally narrowed by a policy. The secret is sealed (auth/sealing.py).
access_keys = sa.Table(
    "access_keys",
    metadata,
    sa.Column("access_key_id", sa.String(64), primary_key=True),
    sa.Column("secret_sealed", sa.Text, nullable=False),
    sa.Column("owner", sa.String(255), nullable=False, index=False),
    sa.Column("subject", sa.String(255)),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("groups", sa.JSON, nullable=False),
    sa.Column("policy", sa.Text),
    sa.Column("description", sa.String(256), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("revoked_ms", sa.BigInteger),
    sa.Index("access_keys_by_owner", "owner"),
)

# Signatures, SBOMs and attestations of objects (OCI referrers), so that listing them and the
# counts on HEAD/GET never wait on the registry. ``subject`` is the object's manifest digest
# when the referrer was attached: only rows whose subject is the object's current manifest
# count. The registry (referrers API, or the fallback tag) stays the source of truth.
referrers = sa.Table(
    "referrers",
    metadata,
    sa.Column("bucket", sa.String(63), primary_key=True),
    sa.Column("key", KeyType, primary_key=True),
    sa.Column("digest", sa.String(80), primary_key=True),
    sa.Column("subject", sa.String(80), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("artifact_type", sa.String(255), nullable=False),
    sa.Column("media_type", sa.String(255), nullable=False),
    sa.Column("blob_digest", sa.String(80), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("manifest_size", sa.BigInteger, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("predicate_type", sa.String(255)),
    sa.Index("referrers_by_subject", "bucket", "key", "subject", "kind"),
)

# One row per probe name, rewritten by every readiness check (``/readyz`` on the management
# port): a committed write proves the index takes writes, not only reads (0008).
health = sa.Table(
    "health",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("checked_ms", sa.BigInteger, nullable=False),
)
