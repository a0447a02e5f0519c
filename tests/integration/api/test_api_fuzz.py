"""The JSON API under fuzzing: schemathesis generates requests from the OpenAPI document
(valid and invalid bodies, paths, queries and headers) and sends them to the real gateway
with the root's credentials. No request may cause a 500, and every answer must be what the
document says (status codes it lists, bodies of its schemas, RFC 7807 problems)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from gateway.app import Gateway
from gateway.config import Settings
from tests.conftest import gateway_settings
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve
from tests.integration.api.test_access_keys import BASIC

# schemathesis 4.32.5's default expected statuses (schemathesis/config/_checks.py, private),
# which the operations below extend.
NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES = [
    *("400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx")
]
MISSING_REQUIRED_HEADER_EXPECTED_STATUSES = ["400", "401", "403", "406", "415", "422"]
POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES = [
    *("2xx", "3xx", "401", "403", "404", "409", "429", "5xx")
]


def _rejected_with(*statuses: int) -> dict[str, object]:
    """Invalid requests may also be answered with these statuses."""
    extra = [str(status) for status in statuses]
    return {
        "negative_data_rejection": {
            "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, *extra]
        },
        "missing_required_header": {
            "expected-statuses": [*MISSING_REQUIRED_HEADER_EXPECTED_STATUSES, *extra]
        },
    }


def _refused_with(*statuses: int) -> dict[str, object]:
    """Schema-valid requests may also be answered with these statuses: the document states
    the field, but its grammar lies in a string no JSON schema can describe."""
    extra = [str(status) for status in statuses]
    return {
        "positive_data_acceptance": {
            "expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, *extra]
        }
    }


CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            # tus prescribes 412 for a missing or other Tus-Resumable, and 413 for an
            # Upload-Length over Tus-Max-Size (https://tus.io/protocols/resumable-upload).
            {"include-path-regex": "^/_artifacts/uploads/", "checks": _rejected_with(412)},
            {
                "include-name": "PATCH /_artifacts/uploads/{upload_id}",
                # schemathesis 4.32.5's coverage phase, varying Upload-Offset near its bounds,
                # fills the optional Upload-Checksum with `0` (not its pattern) and still
                # calls the request valid; the fuzzing phase keeps the check.
                "phases": {
                    "coverage": {"checks": {"positive_data_acceptance": {"enabled": False}}}
                },
            },
            {
                "include-name": "POST /_artifacts/uploads",
                # Upload-Metadata: base64 of UTF-8 values, which must name a bucket and a key
                # in any order (a pattern would need lookaheads, which the generator lacks).
                "checks": {**_rejected_with(412, 413), **_refused_with(400)},
            },
            # `policy`: an IAM policy document (JSON) inside a JSON string.
            {"include-name": "POST /_artifacts/keys", "checks": _refused_with(400)},
            # The document's media type must fit `kind` (a query parameter), and its content
            # must be a valid bundle, SBOM or envelope: not a JSON schema's business.
            {
                "include-name": "POST /_artifacts/referrers/{bucket}",
                "checks": _refused_with(400, 415),
            },
            # PEM public keys, and a sigstore trusted_root.json.
            {"include-name": "PUT /_artifacts/trust/{bucket}", "checks": _refused_with(400)},
            # An image reference: a repository name and a tag or digest by the distribution
            # spec's grammar, with an optional host in front (more than a pattern can say).
            {"include-name": "GET /_artifacts/verify", "checks": _refused_with(400)},
        ]
    }
)
# PATCH bodies are raw bytes, sent as tus's own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
schema = schemathesis.openapi.from_dict(Gateway(Settings()).api.openapi(), config=CONFIG)


@pytest.fixture(scope="module")
def fuzzed(
    registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    """A gateway of its own (its own index over the shared registry): the fuzzer makes and
    revokes the root's access keys and sets trust, which no other test must see."""
    with serve(gateway_settings(registry, tmp_path_factory.mktemp("fuzzed"))) as running:
        yield running


@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_json_api_holds_under_fuzzing(case, fuzzed):
    case.call_and_validate(base_url=fuzzed.url, headers=BASIC)
