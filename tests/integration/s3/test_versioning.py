"""Bucket versioning: Put/GetBucketVersioning, versions on write, versionId on GET, HEAD,
DELETE and CopyObject, delete markers, ListObjectVersions (boto3 and aws-cli v1)."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.integration.s3.test_awscli import aws
from tests.integration.s3.test_policies import key_client


def error_of(excinfo):
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def all_versions(s3, bucket, **kwargs):
    entries = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, **kwargs):
        entries += [
            ("v", v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])
        ]
        entries += [
            ("m", m["Key"], m["VersionId"], m["IsLatest"]) for m in page.get("DeleteMarkers", [])
        ]
    return entries


def empty(s3, bucket):
    for _kind, key, version, _ in all_versions(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version)


@pytest.fixture
def versioned(s3):
    name = f"v-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield name
    empty(s3, name)
    s3.delete_bucket(Bucket=name)


def test_a_bucket_never_versioned_answers_an_empty_configuration(s3, bucket):
    answer = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in answer
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    assert "VersionId" not in put
    assert "VersionId" not in s3.head_object(Bucket=bucket, Key="k")


def test_enable_and_suspend(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


@pytest.mark.parametrize(
    ("configuration", "code", "status"),
    [
        ({"Status": "Enabled", "MFADelete": "Enabled"}, "NotImplemented", 501),
    ],
    ids=["mfa-delete"],
)
def test_put_bucket_versioning_refusals(s3, bucket, configuration, code, status):
    with pytest.raises(ClientError) as excinfo:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=configuration)
    assert error_of(excinfo) == (code, status)


def test_put_bucket_versioning_of_a_bad_status(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "On"})
    assert error_of(excinfo) == ("IllegalVersioningConfigurationException", 400)


def test_every_put_keeps_the_previous_version(s3, versioned):
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=versioned, Key="k", Body=b"two")["VersionId"]
    assert first != second
    assert s3.get_object(Bucket=versioned, Key="k")["Body"].read() == b"two"
    old = s3.get_object(Bucket=versioned, Key="k", VersionId=first)
    assert old["Body"].read() == b"one"
    assert old["VersionId"] == first
    assert s3.head_object(Bucket=versioned, Key="k", VersionId=first)["ContentLength"] == 3
    assert all_versions(s3, versioned) == [
        ("v", "k", second, True),
        ("v", "k", first, False),
    ]


def test_delete_marker_hides_the_key(s3, versioned):
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    deleted = s3.delete_object(Bucket=versioned, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=versioned, Key="k")
    assert error_of(excinfo) == ("NoSuchKey", 404)
    headers = excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true"
    assert headers["x-amz-version-id"] == marker
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=versioned, Key="k", VersionId=marker)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=versioned, Key="k", VersionId=marker)
    assert error_of(excinfo) == ("MethodNotAllowed", 405)
    assert s3.get_object(Bucket=versioned, Key="k", VersionId=first)["Body"].read() == b"one"
    assert all_versions(s3, versioned) == [("v", "k", first, False), ("m", "k", marker, True)]
    assert s3.list_objects_v2(Bucket=versioned).get("Contents") is None
    # Removing the marker brings the object back.
    gone = s3.delete_object(Bucket=versioned, Key="k", VersionId=marker)
    assert gone["DeleteMarker"] is True
    assert gone["VersionId"] == marker
    assert s3.get_object(Bucket=versioned, Key="k")["Body"].read() == b"one"


def test_delete_a_version_for_good(s3, versioned):
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=versioned, Key="k", Body=b"two")["VersionId"]
    answer = s3.delete_object(Bucket=versioned, Key="k", VersionId=second)
    assert answer["VersionId"] == second
    assert "DeleteMarker" not in answer
    assert s3.get_object(Bucket=versioned, Key="k")["Body"].read() == b"one"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=versioned, Key="k", VersionId=second)
    assert error_of(excinfo) == ("NoSuchVersion", 404)
    s3.delete_object(Bucket=versioned, Key="k", VersionId=first)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=versioned, Key="k")
    assert error_of(excinfo) == ("NoSuchKey", 404)
    # A version that does not exist: success, as S3 answers.
    assert s3.delete_object(Bucket=versioned, Key="k", VersionId=first)["VersionId"] == first


def test_malformed_version_id(s3, versioned):
    s3.put_object(Bucket=versioned, Key="k", Body=b"one")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=versioned, Key="k", VersionId="not-a-version")
    assert error_of(excinfo) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as excinfo:
        s3.delete_object(Bucket=versioned, Key="k", VersionId="not-a-version")
    assert error_of(excinfo) == ("InvalidArgument", 400)


def test_suspended_writes_replace_the_null_version(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")  # the null version, unversioned
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"enabled")["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"before"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"s1")["VersionId"] == "null"
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"s2")["VersionId"] == "null"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"s2"
    assert all_versions(s3, bucket) == [("v", "k", "null", True), ("v", "k", kept, False)]
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["VersionId"] == "null"
    assert deleted["DeleteMarker"] is True
    assert all_versions(s3, bucket) == [("v", "k", kept, False), ("m", "k", "null", True)]
    empty(s3, bucket)


def test_copy_a_version(s3, versioned):
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    s3.put_object(Bucket=versioned, Key="k", Body=b"two")
    copied = s3.copy_object(
        Bucket=versioned,
        Key="copy",
        CopySource={"Bucket": versioned, "Key": "k", "VersionId": first},
    )
    assert copied["CopySourceVersionId"] == first
    assert copied["VersionId"] != first
    assert s3.get_object(Bucket=versioned, Key="copy")["Body"].read() == b"one"
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(
            Bucket=versioned,
            Key="copy",
            CopySource={"Bucket": versioned, "Key": "k", "VersionId": "0" * 32},
        )
    assert error_of(excinfo) == ("NoSuchVersion", 404)


def test_list_object_versions_pages_and_prefixes(s3, versioned):
    written = {}
    for key in ["a", "b/1", "b/2", "c"]:
        written[key] = [
            s3.put_object(Bucket=versioned, Key=key, Body=str(n).encode())["VersionId"]
            for n in range(3)
        ]
    s3.delete_object(Bucket=versioned, Key="c")
    whole = all_versions(s3, versioned)
    for size in (1, 2, 3, 5):
        paged = all_versions(s3, versioned, PaginationConfig={"PageSize": size})
        assert len(paged) == len(whole)
        assert sorted(paged) == sorted(whole)
    assert [entry[1] for entry in whole] == ["a"] * 3 + ["b/1"] * 3 + ["b/2"] * 3 + ["c"] * 3 + [
        "c"
    ]  # versions, then the one delete marker (boto3 keeps them in two lists)
    assert [entry[2] for entry in whole if entry[1] == "a"] == written["a"][::-1]
    rolled = s3.list_object_versions(Bucket=versioned, Delimiter="/")
    assert rolled["CommonPrefixes"] == [{"Prefix": "b/"}]
    page = s3.list_object_versions(Bucket=versioned, MaxKeys=2)
    assert page["IsTruncated"] is True
    assert page["NextKeyMarker"] == "a"
    assert page["NextVersionIdMarker"] == written["a"][1]


def _items(page):
    """A ListObjectVersions page's items in listing order: versions and delete markers
    (boto3 keeps them apart) by key, newest first; then the page's common prefixes in place."""
    found = [
        (v["Key"], -v["LastModified"].timestamp(), v["VersionId"], v["IsLatest"], kind)
        for kind, name in (("v", "Versions"), ("m", "DeleteMarkers"))
        for v in page.get(name, [])
    ]
    found += [(p["Prefix"], 0, None, False, "p") for p in page.get("CommonPrefixes", [])]
    return [(key, version, latest, kind) for key, _, version, latest, kind in sorted(found)]


@pytest.mark.parametrize("delimiter", ["", "/"])
def test_paging_versions_with_the_paginator_lists_everything_once_in_order(
    s3, versioned, delimiter
):
    """Null versions, delete markers, common prefixes: pages of 1 to 3 items joined are the
    whole listing, in order, each page but the last full and truncated."""
    for key in ["a", "a", "a", "d/1", "d/2", "d/2", "m", "z/q/r"]:
        s3.put_object(Bucket=versioned, Key=key, Body=key.encode())
    s3.delete_object(Bucket=versioned, Key="m")
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=versioned, Key="n", Body=b"null")
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=versioned, Key="n", Body=b"newer")
    whole = s3.list_object_versions(Bucket=versioned, Delimiter=delimiter)
    assert whole["IsTruncated"] is False
    everything = _items(whole)
    if delimiter:
        assert [item[0] for item in everything] == ["a"] * 3 + ["d/"] + ["m"] * 2 + ["n"] * 2 + [
            "z/"
        ]
    else:
        assert [item[0] for item in everything] == (
            ["a"] * 3 + ["d/1"] + ["d/2"] * 2 + ["m"] * 2 + ["n"] * 2 + ["z/q/r"]
        )
    assert [item[3] for item in everything if item[0] == "m"] == ["m", "v"]
    assert [item[1:3] for item in everything if item[0] == "n"][1] == ("null", False)
    for size in (1, 2, 3):
        pages = list(
            s3.get_paginator("list_object_versions").paginate(
                Bucket=versioned, Delimiter=delimiter, PaginationConfig={"PageSize": size}
            )
        )
        seen = [item for page in pages for item in _items(page)]
        assert seen == everything
        assert [page["IsTruncated"] for page in pages] == [True] * (len(pages) - 1) + [False]
        assert all(len(_items(page)) == size for page in pages[:-1])
        assert all(page["MaxKeys"] == size for page in pages)


def test_delete_objects_with_version_ids(s3, versioned):
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=versioned, Key="k", Body=b"two")["VersionId"]
    marker = s3.delete_object(Bucket=versioned, Key="gone")["VersionId"]  # a marker alone
    s3.put_object(Bucket=versioned, Key="plain", Body=b"p")
    result = s3.delete_objects(
        Bucket=versioned,
        Delete={
            "Objects": [
                {"Key": "k", "VersionId": second},
                {"Key": "gone", "VersionId": marker},
                {"Key": "plain"},
                {"Key": "k", "VersionId": "0" * 32},
                {"Key": "k", "VersionId": "bad"},
            ]
        },
    )
    deleted = result["Deleted"]
    assert deleted[0] == {"Key": "k", "VersionId": second}
    assert deleted[1] == {
        "Key": "gone",
        "VersionId": marker,
        "DeleteMarker": True,
        "DeleteMarkerVersionId": marker,
    }
    assert deleted[2]["Key"] == "plain"
    assert "VersionId" not in deleted[2]
    assert deleted[2]["DeleteMarker"] is True
    new_marker = deleted[2]["DeleteMarkerVersionId"]
    assert deleted[3] == {"Key": "k", "VersionId": "0" * 32}  # none such: success, as S3
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in result["Errors"]] == [
        ("k", "bad", "InvalidArgument")
    ]
    assert s3.get_object(Bucket=versioned, Key="k")["VersionId"] == first
    kinds = {(kind, key, version) for kind, key, version, _ in all_versions(s3, versioned)}
    assert ("m", "plain", new_marker) in kinds
    assert not any(key == "gone" for _, key, _ in kinds)


def test_delete_objects_in_a_suspended_bucket(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
    assert result["Deleted"] == [
        {"Key": "k", "DeleteMarker": True, "DeleteMarkerVersionId": "null"}
    ]
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": "null"}]}
    )
    assert result["Deleted"] == [
        {"Key": "k", "VersionId": "null", "DeleteMarker": True, "DeleteMarkerVersionId": "null"}
    ]
    assert all_versions(s3, bucket) == []


def test_delete_objects_of_a_version_is_decided_as_delete_object_version(gateway, s3, versioned):
    version = s3.put_object(Bucket=versioned, Key="k", Body=b"x")["VersionId"]
    cleaner = key_client(
        gateway,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:DeleteObject",
                    "Resource": f"arn:aws:s3:::{versioned}/*",
                }
            ],
        },
    )
    result = cleaner.delete_objects(
        Bucket=versioned, Delete={"Objects": [{"Key": "k", "VersionId": version}, {"Key": "k"}]}
    )
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in result["Errors"]] == [
        ("k", version, "AccessDenied")
    ]
    assert [d["Key"] for d in result["Deleted"]] == ["k"]
    assert s3.get_object(Bucket=versioned, Key="k", VersionId=version)["Body"].read() == b"x"


def test_tagging_of_a_version(s3, versioned):
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one", Tagging="at=write")
    first = first["VersionId"]
    second = s3.put_object(Bucket=versioned, Key="k", Body=b"two")["VersionId"]
    old = s3.get_object_tagging(Bucket=versioned, Key="k", VersionId=first)
    assert old["VersionId"] == first
    assert old["TagSet"] == [{"Key": "at", "Value": "write"}]
    put = s3.put_object_tagging(
        Bucket=versioned,
        Key="k",
        VersionId=first,
        Tagging={"TagSet": [{"Key": "later", "Value": "1"}]},
    )
    assert put["VersionId"] == first
    assert s3.get_object_tagging(Bucket=versioned, Key="k", VersionId=first)["TagSet"] == [
        {"Key": "later", "Value": "1"}
    ]
    current = s3.get_object_tagging(Bucket=versioned, Key="k")
    assert (current["VersionId"], current["TagSet"]) == (second, [])
    gone = s3.delete_object_tagging(Bucket=versioned, Key="k", VersionId=first)
    assert gone["VersionId"] == first
    assert s3.get_object_tagging(Bucket=versioned, Key="k", VersionId=first)["TagSet"] == []
    s3.put_object_tagging(
        Bucket=versioned, Key="k", Tagging={"TagSet": [{"Key": "now", "Value": "2"}]}
    )
    assert s3.get_object_tagging(Bucket=versioned, Key="k", VersionId=second)["TagSet"] == [
        {"Key": "now", "Value": "2"}
    ]
    marker = s3.delete_object(Bucket=versioned, Key="k")["VersionId"]
    for call, extra in [
        (s3.get_object_tagging, {}),
        (s3.put_object_tagging, {"Tagging": {"TagSet": []}}),
        (s3.delete_object_tagging, {}),
    ]:
        with pytest.raises(ClientError) as excinfo:
            call(Bucket=versioned, Key="k", VersionId="0" * 32, **extra)
        assert error_of(excinfo) == ("NoSuchVersion", 404)
        with pytest.raises(ClientError) as excinfo:
            call(Bucket=versioned, Key="k", VersionId=marker, **extra)
        assert error_of(excinfo) == ("MethodNotAllowed", 405)
        with pytest.raises(ClientError) as excinfo:
            call(Bucket=versioned, Key="k", VersionId="bad", **extra)
        assert error_of(excinfo) == ("InvalidArgument", 400)


def test_a_versions_tag_set_goes_with_it(s3, versioned):
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    s3.put_object(Bucket=versioned, Key="k", Body=b"two")
    s3.put_object_tagging(
        Bucket=versioned, Key="k", VersionId=first, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}
    )
    s3.delete_object(Bucket=versioned, Key="k", VersionId=first)  # its tagging goes with it
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_tagging(Bucket=versioned, Key="k", VersionId=first)
    assert error_of(excinfo) == ("NoSuchVersion", 404)


def test_object_attributes_of_a_version(s3, versioned):
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    s3.put_object(Bucket=versioned, Key="k", Body=b"three")
    answer = s3.get_object_attributes(
        Bucket=versioned, Key="k", VersionId=first, ObjectAttributes=["ObjectSize", "ETag"]
    )
    assert answer["VersionId"] == first
    assert answer["ObjectSize"] == 3
    assert (
        s3.get_object_attributes(Bucket=versioned, Key="k", ObjectAttributes=["ObjectSize"])[
            "ObjectSize"
        ]
        == 5
    )
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_attributes(
            Bucket=versioned, Key="k", VersionId="0" * 32, ObjectAttributes=["ETag"]
        )
    assert error_of(excinfo) == ("NoSuchVersion", 404)


def test_upload_part_copy_of_a_version(s3, versioned):
    first = s3.put_object(Bucket=versioned, Key="src", Body=b"old bytes")["VersionId"]
    latest = s3.put_object(Bucket=versioned, Key="src", Body=b"new bytes")["VersionId"]
    upload = s3.create_multipart_upload(Bucket=versioned, Key="dst")["UploadId"]
    copied = s3.upload_part_copy(
        Bucket=versioned,
        Key="dst",
        UploadId=upload,
        PartNumber=1,
        CopySource={"Bucket": versioned, "Key": "src", "VersionId": first},
    )
    assert copied["CopySourceVersionId"] == first
    plain = s3.upload_part_copy(
        Bucket=versioned,
        Key="dst",
        UploadId=upload,
        PartNumber=2,
        CopySource={"Bucket": versioned, "Key": "src"},
        CopySourceRange="bytes=0-2",
    )
    assert plain["CopySourceVersionId"] == latest
    marker = s3.delete_object(Bucket=versioned, Key="src")["VersionId"]
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part_copy(
            Bucket=versioned,
            Key="dst",
            UploadId=upload,
            PartNumber=3,
            CopySource={"Bucket": versioned, "Key": "src", "VersionId": marker},
        )
    assert error_of(excinfo) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part_copy(
            Bucket=versioned,
            Key="dst",
            UploadId=upload,
            PartNumber=3,
            CopySource={"Bucket": versioned, "Key": "src", "VersionId": "0" * 32},
        )
    assert error_of(excinfo) == ("NoSuchVersion", 404)
    parts = [{"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]}]  # the last may be small
    s3.complete_multipart_upload(
        Bucket=versioned, Key="dst", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    assert s3.get_object(Bucket=versioned, Key="dst")["Body"].read() == b"old bytes"


def test_awscli_tagging_of_a_version(s3, aws_env, versioned):
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    s3.put_object(Bucket=versioned, Key="k", Body=b"two")
    aws(
        aws_env,
        "s3api",
        "put-object-tagging",
        "--bucket",
        versioned,
        "--key",
        "k",
        "--version-id",
        first,
        "--tagging",
        "TagSet=[{Key=cli,Value=v1}]",
    )
    answer = json.loads(
        aws(
            aws_env,
            "s3api",
            "get-object-tagging",
            "--bucket",
            versioned,
            "--key",
            "k",
            "--version-id",
            first,
        )
    )
    assert answer == {"VersionId": first, "TagSet": [{"Key": "cli", "Value": "v1"}]}


def test_version_routes_need_the_version_actions(s3, versioned):
    """GET/DELETE with versionId are decided as s3:GetObjectVersion / s3:DeleteObjectVersion
    (tests/integration/identity/test_s3_matrix.py has the rows)."""
    version = s3.put_object(Bucket=versioned, Key="k", Body=b"x")["VersionId"]
    assert s3.get_object(Bucket=versioned, Key="k", VersionId=version)["VersionId"] == version


def test_awscli_versioning(s3, aws_env, bucket):
    aws(
        aws_env,
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        bucket,
        "--versioning-configuration",
        "Status=Enabled",
    )
    status = json.loads(aws(aws_env, "s3api", "get-bucket-versioning", "--bucket", bucket))
    assert status["Status"] == "Enabled"
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"two")
    listed = json.loads(aws(aws_env, "s3api", "list-object-versions", "--bucket", bucket))
    assert [v["IsLatest"] for v in listed["Versions"]] == [True, False]
    target = aws_env["HOME"] + "/old.bin"
    aws(
        aws_env,
        "s3api",
        "get-object",
        "--bucket",
        bucket,
        "--key",
        "k",
        "--version-id",
        first,
        target,
    )
    with open(target, "rb") as handle:
        assert handle.read() == b"one"
    empty(s3, bucket)


def test_complete_multipart_upload_answers_the_version_it_made(s3, bucket):
    """x-amz-version-id: none in a bucket never versioned, the new version's id when Enabled,
    null when Suspended; completing again answers the same."""

    def complete(key: str) -> tuple[dict, dict]:  # type: ignore[type-arg]
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"p")[
            "ETag"
        ]
        parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
        first = s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload=parts
        )
        again = s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload=parts
        )
        return first, again

    first, again = complete("plain")
    assert "VersionId" not in first
    assert "VersionId" not in again
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first, again = complete("k")
    assert first["VersionId"] == again["VersionId"]
    assert first["VersionId"] == s3.head_object(Bucket=bucket, Key="k")["VersionId"] != "null"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    first, again = complete("k")
    assert first["VersionId"] == again["VersionId"] == "null"
    empty(s3, bucket)
