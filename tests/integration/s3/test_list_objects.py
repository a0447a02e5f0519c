from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.signing import send

KEYS = [
    "a.txt",
    "dir/",
    "dir/b.txt",
    "dir/c/d.txt",
    "dir/c/e.txt",
    "dir2/f.txt",
    "z+plus",
    "ü/x",
]


@pytest.fixture
def filled(s3, bucket):
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def test_v2_plain(s3, filled):
    listed = s3.list_objects_v2(Bucket=filled)
    assert [o["Key"] for o in listed["Contents"]] == sorted(KEYS, key=str.encode)
    assert listed["KeyCount"] == len(KEYS)
    assert listed["IsTruncated"] is False
    item = next(o for o in listed["Contents"] if o["Key"] == "a.txt")
    assert item["Size"] == 5
    assert item["StorageClass"] == "STANDARD"
    assert "Owner" not in item


def test_v2_prefix_delimiter(s3, filled):
    top = s3.list_objects_v2(Bucket=filled, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["a.txt", "z+plus"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir/", "dir2/", "ü/"]
    inner = s3.list_objects_v2(Bucket=filled, Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in inner["Contents"]] == ["dir/", "dir/b.txt"]
    assert [p["Prefix"] for p in inner["CommonPrefixes"]] == ["dir/c/"]


def test_v2_pagination_visits_everything_once(s3, filled):
    seen_keys, seen_prefixes, pages = [], [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=filled, Delimiter="/", PaginationConfig={"PageSize": 1}
    ):
        pages += 1
        seen_keys += [o["Key"] for o in page.get("Contents", [])]
        seen_prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert seen_keys == ["a.txt", "z+plus"]
    assert seen_prefixes == ["dir/", "dir2/", "ü/"]
    assert pages == 5


def test_v2_start_after_and_fetch_owner(s3, filled):
    listed = s3.list_objects_v2(Bucket=filled, StartAfter="dir/c/d.txt", FetchOwner=True)
    assert [o["Key"] for o in listed["Contents"]] == ["dir/c/e.txt", "dir2/f.txt", "z+plus", "ü/x"]
    assert listed["StartAfter"] == "dir/c/d.txt"
    assert listed["Contents"][0]["Owner"]["ID"]


def test_v2_bad_token(s3, filled):
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket=filled, ContinuationToken="%%%not-a-token")
    assert exc.value.response["Error"]["Code"] == "InvalidArgument"


def test_v2_max_keys(s3, filled):
    listed = s3.list_objects_v2(Bucket=filled, MaxKeys=3)
    assert listed["KeyCount"] == 3
    assert listed["IsTruncated"] is True
    rest = s3.list_objects_v2(Bucket=filled, ContinuationToken=listed["NextContinuationToken"])
    assert [o["Key"] for o in listed["Contents"] + rest["Contents"]] == sorted(KEYS, key=str.encode)
    assert s3.list_objects_v2(Bucket=filled, MaxKeys=0)["KeyCount"] == 0


def test_v1_marker_and_next_marker(s3, filled):
    first = s3.list_objects(Bucket=filled, Delimiter="/", MaxKeys=2)
    assert [o["Key"] for o in first["Contents"]] == ["a.txt"]
    assert [p["Prefix"] for p in first["CommonPrefixes"]] == ["dir/"]
    assert first["IsTruncated"] is True
    assert first["NextMarker"] == "dir/"
    second = s3.list_objects(Bucket=filled, Delimiter="/", Marker=first["NextMarker"])
    assert [p["Prefix"] for p in second["CommonPrefixes"]] == ["dir2/", "ü/"]
    assert [o["Key"] for o in second["Contents"]] == ["z+plus"]
    assert first["Contents"][0]["Owner"]["ID"]
    everything = [
        o["Key"]
        for page in s3.get_paginator("list_objects").paginate(
            Bucket=filled, PaginationConfig={"PageSize": 3}
        )
        for o in page["Contents"]
    ]
    assert everything == sorted(KEYS, key=str.encode)


def test_encoding_type_url(s3, filled):
    # Asked for explicitly, the encoding reaches the caller; boto3 itself asks for it on every
    # listing and decodes it again, so every other test here checks the decoded keys.
    listed = s3.list_objects_v2(Bucket=filled, Prefix="z", EncodingType="url")
    assert [o["Key"] for o in listed["Contents"]] == ["z%2Bplus"]
    assert listed["EncodingType"] == "url"
    raw = s3.list_objects(Bucket=filled, Prefix="ü", EncodingType="url", Delimiter="/")
    assert [p["Prefix"] for p in raw["CommonPrefixes"]] == ["%C3%BC/"]


def test_list_object_versions_of_unversioned_bucket(s3, filled):
    versions = s3.list_object_versions(Bucket=filled, Prefix="dir/")
    assert [v["Key"] for v in versions["Versions"]] == [
        "dir/",
        "dir/b.txt",
        "dir/c/d.txt",
        "dir/c/e.txt",
    ]
    assert {v["VersionId"] for v in versions["Versions"]} == {"null"}
    assert all(v["IsLatest"] for v in versions["Versions"])
    paged = s3.list_object_versions(Bucket=filled, MaxKeys=2)
    assert paged["IsTruncated"] is True
    assert paged["NextKeyMarker"] == "dir/"
    rest = s3.list_object_versions(Bucket=filled, KeyMarker=paged["NextKeyMarker"])
    assert [v["Key"] for v in rest["Versions"]] == [
        "dir/b.txt",
        "dir/c/d.txt",
        "dir/c/e.txt",
        "dir2/f.txt",
        "z+plus",
        "ü/x",
    ]


S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@pytest.mark.parametrize(
    "query",
    [
        "list-type=2&delimiter=",
        "list-type=2&continuation-token=",
        "list-type=2&delimiter=&continuation-token=",
        "delimiter=",
        "versions&delimiter=",
    ],
)
def test_empty_delimiter_and_token_are_as_if_absent(gateway, filled, query):
    """``delimiter=`` groups nothing and ``continuation-token=`` starts at the beginning; neither
    is echoed, as S3 answers them."""
    response = send("GET", f"{gateway.url}/{filled}?{query}")
    assert response.status_code == 200, response.text
    document = ElementTree.fromstring(response.content)
    keys = [e.text for e in document.iter(f"{S3_NS}Key")]
    assert keys == sorted(KEYS, key=str.encode)
    for absent in ("Delimiter", "ContinuationToken", "CommonPrefixes", "NextMarker"):
        assert document.find(f"{S3_NS}{absent}") is None, absent


def test_empty_delimiter_and_token_from_boto3(s3, filled):
    listed = s3.list_objects_v2(Bucket=filled, Delimiter="", ContinuationToken="", MaxKeys=3)
    assert [o["Key"] for o in listed["Contents"]] == sorted(KEYS, key=str.encode)[:3]
    assert "Delimiter" not in listed
    assert "ContinuationToken" not in listed
    assert "CommonPrefixes" not in listed
    following = s3.list_objects_v2(
        Bucket=filled, Delimiter="", ContinuationToken=listed["NextContinuationToken"]
    )
    assert [o["Key"] for o in following["Contents"]] == sorted(KEYS, key=str.encode)[3:]
    v1 = s3.list_objects(Bucket=filled, Delimiter="", MaxKeys=2)
    assert v1["IsTruncated"] is True
    assert "NextMarker" not in v1
    assert "Delimiter" not in v1
