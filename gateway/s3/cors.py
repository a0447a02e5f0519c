"""Bucket CORS at the S3 edge: Put/Get/DeleteBucketCors (the XML <-> rules). Preflights and
the headers of actual requests are ``crossorigin.py``'s.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_CORSConfiguration.html
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from gateway.domain import cors as domain
from gateway.domain.cors import CorsRule
from gateway.s3 import xml
from gateway.s3.errors import S3Error
from gateway.s3.payload import checked_small_body
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result

MAX_CORS_BODY = 64 * 1024


def _texts(element: Element, tag: str) -> tuple[str, ...]:
    return tuple((child.text or "").strip() for child in element.findall(tag))


def parse_configuration(body: bytes) -> list[CorsRule]:
    """The rules of a ``CORSConfiguration`` document; what the schema refuses (no rule, a rule
    without an origin or a method, a MaxAgeSeconds that is no integer) is MalformedXML."""
    document = xml.parse(body)
    if document.tag != "CORSConfiguration":
        raise S3Error("MalformedXML")
    rules = []
    for element in document.findall("CORSRule"):
        methods, origins = _texts(element, "AllowedMethod"), _texts(element, "AllowedOrigin")
        max_age = element.findtext("MaxAgeSeconds")
        if not methods or not origins:
            raise S3Error("MalformedXML")
        if max_age is not None and not max_age.strip().lstrip("-").isdigit():
            raise S3Error("MalformedXML")
        rules.append(
            CorsRule(
                allowed_methods=methods,
                allowed_origins=origins,
                allowed_headers=_texts(element, "AllowedHeader"),
                expose_headers=_texts(element, "ExposeHeader"),
                max_age_seconds=int(max_age) if max_age is not None else None,
                id=element.findtext("ID"),
            )
        )
    if not rules:
        raise S3Error("MalformedXML")
    return rules


async def put_bucket_cors(ctx: S3Request) -> S3Result:
    body = await checked_small_body(ctx, MAX_CORS_BODY, required=False)
    await domain.put_bucket_cors(ctx.store, ctx.bucket, parse_configuration(body))
    return S3Result()


async def get_bucket_cors(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketCors.html"""
    rules = await domain.get_bucket_cors(ctx.store, ctx.bucket)
    if rules is None:
        raise S3Error("NoSuchCORSConfiguration", fields={"BucketName": ctx.bucket})
    document = xml.root("CORSConfiguration")
    for rule in rules:
        element = xml.add(document, "CORSRule")
        if rule.id is not None:
            xml.add(element, "ID", rule.id)
        for tag, values in (
            ("AllowedHeader", rule.allowed_headers),
            ("AllowedMethod", rule.allowed_methods),
            ("AllowedOrigin", rule.allowed_origins),
            ("ExposeHeader", rule.expose_headers),
        ):
            for value in values:
                xml.add(element, tag, value)
        if rule.max_age_seconds is not None:
            xml.add(element, "MaxAgeSeconds", rule.max_age_seconds)
    return S3Result(document=document)


async def delete_bucket_cors(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketCors.html"""
    await domain.delete_bucket_cors(ctx.store, ctx.bucket)
    return S3Result(status=204)
