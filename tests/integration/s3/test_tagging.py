"""Object and bucket tags through boto3, aws-cli v1 and signed raw requests, on the real
registry: the tag set, its limits and errors as S3 answers them, x-amz-tagging on writes,
the count on GET/HEAD, a manifest digest that tags never change, reindex, and policies that
test tags."""

from __future__ import annotations

import json

import httpx
import pytest
from botocore.exceptions import ClientError

from gateway.__main__ import main
from gateway.domain import mapping
from tests.conftest import gateway_settings, s3_client
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import serve
from tests.fixtures.signing import send
from tests.integration.api.test_referrers import (
    counts,
    listed,
    object_manifest,
    registry_referrers,
)
from tests.integration.s3.test_awscli import aws


def error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = excinfo.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"].get("Message", ""),
    )


def tag_set(tags: dict[str, str]) -> dict[str, list[dict[str, str]]]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}


def tags_of(s3, bucket: str, key: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def tag_count(s3, bucket: str, key: str) -> str | None:  # type: ignore[no-untyped-def]
    head = s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]
    return head.get("x-amz-tagging-count")


def test_put_get_delete_object_tagging_keep_the_etag_and_the_manifest(
    registry, gateway, s3, bucket
):
    s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    etag = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    _, digest, _ = object_manifest(registry, s3, bucket, "k")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert tag_count(s3, bucket, "k") is None  # S3 sends no count for an untagged object

    answer = s3.put_object_tagging(
        Bucket=bucket, Key="k", Tagging=tag_set({"b": "2", "a": "1", "empty": ""})
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert tags_of(s3, bucket, "k") == {"a": "1", "b": "2", "empty": ""}
    assert s3.head_object(Bucket=bucket, Key="k")["TagCount"] == 3
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["TagCount"] == 3
    assert got["Body"].read() == b"hello"
    # The object's manifest, its digest and its ETag are what they were: referrers that name
    # the digest (signatures, SBOMs) stay attached, and nothing counts the tags as one.
    assert object_manifest(registry, s3, bucket, "k")[1] == digest
    assert s3.head_object(Bucket=bucket, Key="k")["ETag"] == etag
    assert counts(s3, bucket, "k") == (0, 0, 0)
    assert listed(gateway, bucket, "k") == []
    repository = mapping.locate("s3", bucket, "k").repository
    held = registry_referrers(registry, repository, digest) or []
    assert [d.get("artifactType") for d in held] == [mapping.TAGGING_ARTIFACT_TYPE]

    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set({"only": "one"}))
    assert tags_of(s3, bucket, "k") == {"only": "one"}
    held = registry_referrers(registry, repository, digest) or []
    assert len(held) == 1  # the tag set it replaced is gone

    deleted = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert tag_count(s3, bucket, "k") is None
    assert object_manifest(registry, s3, bucket, "k")[1] == digest
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": []})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []

    # Overwriting or deleting the object takes its tags with it.
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set({"a": "1"}))
    s3.put_object(Bucket=bucket, Key="k", Body=b"new")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert registry_referrers(registry, repository, digest) in (None, [])


def test_tags_on_put_multipart_and_copy(s3, bucket):
    s3.put_object(Bucket=bucket, Key="put", Body=b"x", Tagging="foo=bar&bar=&a%20b=c%2Bd")
    assert tags_of(s3, bucket, "put") == {"a b": "c+d", "bar": "", "foo": "bar"}
    assert s3.head_object(Bucket=bucket, Key="put")["TagCount"] == 3

    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="team=blue")
    part = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 10
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert tags_of(s3, bucket, "mp") == {"team": "blue"}

    s3.put_object_tagging(Bucket=bucket, Key="mp", Tagging=tag_set({"later": "set"}))
    s3.copy_object(Bucket=bucket, Key="copied", CopySource=f"{bucket}/mp")
    assert tags_of(s3, bucket, "copied") == {"later": "set"}  # COPY is the default
    s3.copy_object(
        Bucket=bucket,
        Key="replaced",
        CopySource=f"{bucket}/mp",
        TaggingDirective="REPLACE",
        Tagging="x=y",
    )
    assert tags_of(s3, bucket, "replaced") == {"x": "y"}
    s3.copy_object(
        Bucket=bucket, Key="cleared", CopySource=f"{bucket}/mp", TaggingDirective="REPLACE"
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="cleared")["TagSet"] == []
    with pytest.raises(ClientError) as wrong:
        s3.copy_object(
            Bucket=bucket,
            Key="c",
            CopySource=f"{bucket}/mp",
            TaggingDirective="KEEP",  # type: ignore[arg-type]
        )
    assert error(wrong)[:2] == (400, "InvalidArgument")


def test_the_limits_of_a_tag_set(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    ten = {f"{n}{'k' * 127}": "v" * 256 for n in range(10)}
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(ten))
    assert tags_of(s3, bucket, "k") == ten
    unicode = {"ünï 文": "@:/=+-_. ok", "n": "1"}
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(unicode))
    assert tags_of(s3, bucket, "k") == unicode


def _tags(pairs: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs]}


INVALID_KEY = "The TagKey you have provided is invalid"
INVALID_VALUE = "The TagValue you have provided is invalid"


@pytest.mark.parametrize(
    ("pairs", "status", "code", "message"),
    [
        pytest.param(
            [(f"k{n}", "") for n in range(11)],
            400,
            "BadRequest",
            "Object tags cannot be greater than 10",
            id="eleven-tags",
        ),
        pytest.param(
            [("a", "1"), ("a", "2")],
            400,
            "InvalidTag",
            "Cannot provide multiple Tags with the same key",
            id="duplicate-key",
        ),
        pytest.param([("k" * 129, "")], 400, "InvalidTag", INVALID_KEY, id="key-129"),
        pytest.param([("k", "v" * 257)], 400, "InvalidTag", INVALID_VALUE, id="value-257"),
        pytest.param([("a,b", "v")], 400, "InvalidTag", INVALID_KEY, id="key-comma"),
        pytest.param([("k", "a*b")], 400, "InvalidTag", INVALID_VALUE, id="value-star"),
        pytest.param([("k", "\U0001f600")], 400, "InvalidTag", INVALID_VALUE, id="value-emoji"),
        pytest.param(
            [("aws:cost", "v")],
            400,
            "InvalidTag",
            "System tags cannot be added/updated by requester",
            id="aws-prefix",
        ),
    ],
)
def test_put_object_tagging_refuses(s3, bucket, pairs, status, code, message):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as refused:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags(pairs))
    assert error(refused) == (status, code, message)
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_an_empty_tag_key_is_invalid(gateway, s3, bucket):
    """boto3 refuses to send one; a raw request gets S3's answer."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    body = b"<Tagging><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>"
    answer = send("PUT", f"{gateway.url}/{bucket}/k?tagging", body)
    assert answer.status_code == 400
    assert "<Code>InvalidTag</Code>" in answer.text
    assert f"<Message>{INVALID_KEY}</Message>" in answer.text


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<Tagging><TagSet>", id="unterminated"),
        pytest.param(b"<Tagging></Tagging>", id="no-tag-set"),
        pytest.param(b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", id="no-value"),
        pytest.param(b"<Tags><TagSet></TagSet></Tags>", id="other-root"),
        pytest.param(b"", id="empty"),
    ],
)
def test_a_tagging_document_that_is_not_one_is_malformed_xml(gateway, s3, bucket, body):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    answer = send("PUT", f"{gateway.url}/{bucket}/k?tagging", body)
    assert answer.status_code == 400
    assert "<Code>MalformedXML</Code>" in answer.text


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        pytest.param("a=1&a=2", 400, "InvalidArgument", id="duplicate"),
        pytest.param("=1", 400, "InvalidArgument", id="no-key"),
        pytest.param("a=%FF", 400, "InvalidArgument", id="not-utf8"),
        pytest.param("&".join(f"k{n}=" for n in range(11)), 400, "BadRequest", id="eleven"),
        pytest.param("a,b=1", 400, "InvalidTag", id="bad-key"),
        pytest.param("aws:cost=1", 400, "InvalidTag", id="aws-prefix"),
    ],
)
def test_a_write_with_a_wrong_tagging_header_is_refused(gateway, s3, bucket, header, status, code):
    answer = send("PUT", f"{gateway.url}/{bucket}/new", b"x", {"x-amz-tagging": header})
    assert answer.status_code == status
    assert f"<Code>{code}</Code>" in answer.text
    if code == "InvalidArgument":
        assert "<ArgumentName>x-amz-tagging</ArgumentName>" in answer.text
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=bucket, Key="new")
    assert error(missing)[0] == 404


def test_tagging_of_what_does_not_exist(s3, bucket):
    for call in (
        lambda: s3.get_object_tagging(Bucket=bucket, Key="missing"),
        lambda: s3.put_object_tagging(Bucket=bucket, Key="missing", Tagging=tag_set({"a": "1"})),
        lambda: s3.delete_object_tagging(Bucket=bucket, Key="missing"),
    ):
        with pytest.raises(ClientError) as missing:
            call()
        assert error(missing)[:2] == (404, "NoSuchKey")
    with pytest.raises(ClientError) as no_bucket:
        s3.get_object_tagging(Bucket="no-such-bucket-here", Key="k")
    assert error(no_bucket)[:2] == (404, "NoSuchBucket")
    with pytest.raises(ClientError) as no_bucket:
        s3.get_bucket_tagging(Bucket="no-such-bucket-here")
    assert error(no_bucket)[:2] == (404, "NoSuchBucket")


def test_bucket_tagging(s3, bucket):
    with pytest.raises(ClientError) as none:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error(none) == (404, "NoSuchTagSet", "The TagSet does not exist")
    fifty = {f"key-{n:02d}": str(n) for n in range(50)}
    answer = s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set(fifty))
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]} == fifty
    with pytest.raises(ClientError) as too_many:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({f"k{n}": "" for n in range(51)}))
    assert error(too_many) == (400, "BadRequest", "Bucket tag count cannot be greater than 50")
    with pytest.raises(ClientError) as invalid:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({"a;b": ""}))
    assert error(invalid) == (400, "InvalidTag", INVALID_KEY)
    assert len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == 50
    assert s3.delete_bucket_tagging(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as gone:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error(gone)[:2] == (404, "NoSuchTagSet")
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": []})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == []


def test_aws_cli_tagging(aws_env, s3, bucket):
    aws(aws_env, "s3api", "put-object", "--bucket", bucket, "--key", "a", "--tagging", "x=1&y=2")
    got = json.loads(aws(aws_env, "s3api", "get-object-tagging", "--bucket", bucket, "--key", "a"))
    assert got["TagSet"] == [{"Key": "x", "Value": "1"}, {"Key": "y", "Value": "2"}]
    head = json.loads(aws(aws_env, "s3api", "head-object", "--bucket", bucket, "--key", "a"))
    assert head["TagCount"] == 2
    aws(
        aws_env,
        "s3api",
        "put-object-tagging",
        "--bucket",
        bucket,
        "--key",
        "a",
        "--tagging",
        "TagSet=[{Key=env,Value=prod}]",
    )
    aws(aws_env, "s3", "cp", f"s3://{bucket}/a", f"s3://{bucket}/b")
    assert tags_of(s3, bucket, "b") == {"env": "prod"}  # a copy keeps the source's tags
    aws(aws_env, "s3api", "delete-object-tagging", "--bucket", bucket, "--key", "a")
    got = json.loads(aws(aws_env, "s3api", "get-object-tagging", "--bucket", bucket, "--key", "a"))
    assert got["TagSet"] == []
    aws(
        aws_env,
        "s3api",
        "put-bucket-tagging",
        "--bucket",
        bucket,
        "--tagging",
        "TagSet=[{Key=owner,Value=team-a}]",
    )
    got = json.loads(aws(aws_env, "s3api", "get-bucket-tagging", "--bucket", bucket))
    assert got["TagSet"] == [{"Key": "owner", "Value": "team-a"}]
    aws(aws_env, "s3api", "delete-bucket-tagging", "--bucket", bucket)


def _policy(bucket: str, statements: list[dict[str, object]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_policies_test_existing_and_requested_tags(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="public", Body=b"p", Tagging="visibility=public")
    s3.put_object(Bucket=bucket, Key="private", Body=b"q")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=_policy(
            bucket,
            [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject", "s3:GetObjectTagging"],
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                    "Condition": {"StringEquals": {"s3:ExistingObjectTag/visibility": "public"}},
                },
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:PutObject", "s3:PutObjectTagging"],
                    "Resource": f"arn:aws:s3:::{bucket}/inbox/*",
                    "Condition": {"StringEquals": {"s3:RequestObjectTag/team": "blue"}},
                },
            ],
        ),
    )
    base = f"{gateway.url}/{bucket}"
    assert httpx.get(f"{base}/public").content == b"p"
    assert httpx.get(f"{base}/public?tagging").status_code == 200
    denied = httpx.get(f"{base}/private")
    assert (denied.status_code, "<Code>AccessDenied</Code>" in denied.text) == (403, True)
    s3.put_object_tagging(Bucket=bucket, Key="public", Tagging=tag_set({"visibility": "team"}))
    assert httpx.get(f"{base}/public").status_code == 403  # the current tags are tested
    s3.put_object_tagging(Bucket=bucket, Key="private", Tagging=tag_set({"visibility": "public"}))
    assert httpx.get(f"{base}/private").content == b"q"

    put = httpx.put(f"{base}/inbox/a", content=b"a", headers={"x-amz-tagging": "team=blue"})
    assert put.status_code == 200
    assert tags_of(s3, bucket, "inbox/a") == {"team": "blue"}
    assert httpx.put(f"{base}/inbox/b", content=b"b").status_code == 403
    red = httpx.put(f"{base}/inbox/b", content=b"b", headers={"x-amz-tagging": "team=red"})
    assert red.status_code == 403
    document = b"<Tagging><TagSet><Tag><Key>team</Key><Value>%s</Value></Tag></TagSet></Tagging>"
    assert httpx.put(f"{base}/inbox/a?tagging", content=document % b"blue").status_code == 200
    assert httpx.put(f"{base}/inbox/a?tagging", content=document % b"red").status_code == 403
    assert tags_of(s3, bucket, "inbox/a") == {"team": "blue"}
    s3.delete_bucket_policy(Bucket=bucket)


def test_policies_test_the_set_of_requested_tag_keys(gateway, s3, bucket):
    """s3:RequestObjectTagKeys (the S3 user guide's examples): ForAllValues allows only the
    named keys, ForAnyValue requires one of them."""
    s3.put_object(Bucket=bucket, Key="inbox/a", Body=b"a")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=_policy(
            bucket,
            [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:PutObject", "s3:PutObjectTagging"],
                    "Resource": f"arn:aws:s3:::{bucket}/inbox/*",
                    "Condition": {
                        "ForAllValues:StringEquals": {
                            "s3:RequestObjectTagKeys": ["Owner", "CreationDate"]
                        },
                        "ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["Owner"]},
                    },
                }
            ],
        ),
    )
    base = f"{gateway.url}/{bucket}/inbox"
    allowed = httpx.put(f"{base}/b", content=b"b", headers={"x-amz-tagging": "Owner=me"})
    assert allowed.status_code == 200
    both = httpx.put(
        f"{base}/c", content=b"c", headers={"x-amz-tagging": "Owner=me&CreationDate=2026"}
    )
    assert both.status_code == 200
    for tagging in ("Owner=me&Project=x", "CreationDate=2026"):
        refused = httpx.put(f"{base}/d", content=b"d", headers={"x-amz-tagging": tagging})
        assert refused.status_code == 403, tagging
    assert httpx.put(f"{base}/d", content=b"d").status_code == 403  # no Owner tag
    document = b"<Tagging><TagSet>%s</TagSet></Tagging>"
    owner = b"<Tag><Key>Owner</Key><Value>me</Value></Tag>"
    project = b"<Tag><Key>Project</Key><Value>x</Value></Tag>"
    assert httpx.put(f"{base}/a?tagging", content=document % owner).status_code == 200
    refused = httpx.put(f"{base}/a?tagging", content=document % (owner + project))
    assert refused.status_code == 403
    assert tags_of(s3, bucket, "inbox/a") == {"Owner": "me"}
    s3.delete_bucket_policy(Bucket=bucket)


def test_reindex_keeps_object_and_bucket_tags(
    registry: RunningRegistry, tmp_path, monkeypatch, capsys
):
    for name, value in registry.env().items():
        monkeypatch.setenv(name, value)
    data = tmp_path / "data"
    settings = gateway_settings(registry, data, repository_prefix="rxt")
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="tagged")
        client.put_bucket_tagging(Bucket="tagged", Tagging=tag_set({"cost": "42"}))
        client.put_object(Bucket="tagged", Key="at-put", Body=b"1", Tagging="a=1")
        client.put_object(Bucket="tagged", Key="retagged", Body=b"2", Tagging="a=1")
        for n in range(3):
            client.put_object_tagging(
                Bucket="tagged", Key="retagged", Tagging=tag_set({"n": str(n)})
            )
        client.put_object(Bucket="tagged", Key="untagged", Body=b"3", Tagging="a=1")
        client.delete_object_tagging(Bucket="tagged", Key="untagged")
        client.put_object(Bucket="tagged", Key="plain", Body=b"4")
        upload = client.create_multipart_upload(Bucket="tagged", Key="live", Tagging="up=1")
        before = {key: tags_of(client, "tagged", key) for key in ("at-put", "retagged", "untagged")}
        digests = {
            key: object_manifest(registry, client, "tagged", key)[1]
            for key in ("at-put", "retagged")
        }
    assert before == {"at-put": {"a": "1"}, "retagged": {"n": "2"}, "untagged": {}}
    (data / "index.db").unlink()
    for leftover in data.glob("index.db-*"):
        leftover.unlink()
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", "rxt")
    assert main(["--data-dir", str(data), "reindex"]) == 0
    assert "reindexed 1 buckets, 4 objects (0 skipped), 0 referrers" in capsys.readouterr().out
    with serve(settings) as running:
        client = s3_client(running.url)
        after = {key: tags_of(client, "tagged", key) for key in ("at-put", "retagged", "untagged")}
        assert after == before
        assert tag_count(client, "tagged", "retagged") == "1"
        assert tag_count(client, "tagged", "plain") is None
        assert {
            key: object_manifest(registry, client, "tagged", key)[1]
            for key in ("at-put", "retagged")
        } == digests
        tags = client.get_bucket_tagging(Bucket="tagged")["TagSet"]
        assert tags == [{"Key": "cost", "Value": "42"}]
        # The live upload comes back with its tags, and so does the object it makes.
        part = client.upload_part(
            Bucket="tagged", Key="live", UploadId=upload["UploadId"], PartNumber=1, Body=b"z"
        )
        client.complete_multipart_upload(
            Bucket="tagged",
            Key="live",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        assert tags_of(client, "tagged", "live") == {"up": "1"}
        # After the reindex, retagging still replaces the newest tag set.
        client.put_object_tagging(Bucket="tagged", Key="retagged", Tagging=tag_set({"n": "3"}))
        assert tags_of(client, "tagged", "retagged") == {"n": "3"}
