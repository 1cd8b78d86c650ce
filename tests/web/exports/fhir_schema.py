"""The official FHIR R4 JSON Schema as a reader of the FHIR exports.

The schema (``tests/resources/fhir``, see its README for source, licence and
checksum) is read with ``jsonschema``. Its two ``oneOf`` lists (the root and
``ResourceList``, what a Bundle entry's ``resource`` is) name every resource
type; each resource definition requires ``resourceType`` with its own
``const``, so at most the one definition the schema's ``discriminator`` maps
that type to can match. Checking only that one gives the same verdict as
trying all 146 (``test_discriminated_one_of_agrees_with_plain_one_of`` shows
it) in a fraction of the time; the schema's npm package does the same for its
error messages (``getSubSchema``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator, validators
from jsonschema.protocols import Validator

SCHEMA = Path(__file__).parents[2] / "resources" / "fhir" / "fhir.schema.json.gz"
#: sha256 of the decompressed ``fhir.schema.json`` as shipped (README.md).
SCHEMA_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"
_PLAIN_ONE_OF = Draft6Validator.VALIDATORS["oneOf"]


@cache
def fhir_schema() -> dict[str, Any]:
    """The FHIR R4 JSON Schema, after checking it is the file shipped."""
    raw = gzip.decompress(SCHEMA.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256
    return json.loads(raw)


def _discriminated_one_of(
    validator: Validator, one_of: list[dict], instance: Any, schema: dict
) -> Iterator[Any]:
    mapping = fhir_schema()["discriminator"]["mapping"]
    kind = instance.get("resourceType") if isinstance(instance, dict) else None
    target = {"$ref": mapping[kind]} if kind in mapping else None
    if target is not None and target in one_of:
        yield from validator.descend(instance, target)
    else:
        yield from _PLAIN_ONE_OF(validator, one_of, instance, schema)


_Discriminated = validators.extend(Draft6Validator, {"oneOf": _discriminated_one_of})


@cache
def validator() -> Validator:
    """A draft-06 validator of the schema, ``oneOf`` by resource type."""
    schema = fhir_schema()
    Draft6Validator.check_schema(schema)
    return _Discriminated(schema)


def plain_validator() -> Validator:
    """The stock draft-06 validator (every ``oneOf`` branch tried): slow."""
    return Draft6Validator(fhir_schema())


def schema_errors(resource: dict[str, Any], check: Validator | None = None) -> list:
    """What the schema finds wrong with a resource (or a whole Bundle)."""
    return list((check or validator()).iter_errors(resource))


def assert_schema_valid(resource: dict[str, Any]) -> None:
    """Fail with the schema's own messages if the resource is not valid R4."""
    errors = schema_errors(resource)
    shown = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    assert not errors, "\n".join(shown[:10])
