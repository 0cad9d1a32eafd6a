"""The published schemas the formats are checked against, from packages, not from our own hand.

* OCSF: the OCSF project's schema export, shipped by the ``ocsf-json-schema`` package (the
  schema is Apache-2.0, the package MIT), turned into a JSON Schema (draft 2020-12) for the
  Compliance Finding class with the profiles our events declare.
* ASFF: botocore's model of the Security Hub API, the one the AWS CLI and SDKs use. Two checks:
  botocore's own parameter validation of ``BatchImportFindings`` (what boto3 runs before sending:
  required members, types, minimum sizes) and a JSON Schema built here from the same shapes, which
  also holds every enum (severity labels, compliance statuses, partitions), the maximum list
  sizes (100 findings a call) and forbids members the API does not have.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape
from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

OCSF_VERSION = "1.5.0"


@functools.cache
def ocsf_validator(class_name: str, profiles: tuple[str, ...]) -> Draft202012Validator:
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION))
    return Draft202012Validator(schema.get_class_schema(class_name, list(profiles)))


@functools.cache
def securityhub() -> Any:
    return botocore.session.get_session().get_service_model("securityhub")


_SCALARS = {
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer"},
    "long": {"type": "integer"},
    "double": {"type": "number"},
    "float": {"type": "number"},
    "timestamp": {"type": "string"},
}


def _schema_of(shape: Shape, defs: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema of a botocore shape; structures go to ``$defs`` (the model is recursive)."""
    if isinstance(shape, StructureShape):
        if shape.name not in defs:
            defs[shape.name] = {}  # placeholder first: a shape may contain itself
            defs[shape.name] = {
                "type": "object",
                "properties": {n: _schema_of(s, defs) for n, s in shape.members.items()},
                "required": list(shape.required_members),
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{shape.name}"}
    if isinstance(shape, ListShape):
        schema: dict[str, Any] = {"type": "array", "items": _schema_of(shape.member, defs)}
        if "min" in shape.metadata:
            schema["minItems"] = shape.metadata["min"]
        if "max" in shape.metadata:
            schema["maxItems"] = shape.metadata["max"]
        return schema
    if isinstance(shape, MapShape):
        return {"type": "object", "additionalProperties": _schema_of(shape.value, defs)}
    if isinstance(shape, StringShape):
        schema = {"type": "string"}
        if shape.enum:
            schema["enum"] = list(shape.enum)
        if "pattern" in shape.metadata:
            schema["pattern"] = shape.metadata["pattern"]
        return schema
    return dict(_SCALARS[shape.type_name])


@functools.cache
def asff_validator(shape_name: str = "AwsSecurityFinding") -> Draft202012Validator:
    """The JSON Schema of a Security Hub shape; ``BatchImportFindingsRequest`` for a whole call."""
    defs: dict[str, Any] = {}
    root = _schema_of(securityhub().shape_for(shape_name), defs)
    return Draft202012Validator({**root, "$defs": defs})


def botocore_errors(findings: list[dict[str, Any]]) -> str:
    """botocore's report on ``BatchImportFindings(Findings=findings)``; empty when valid."""
    from botocore.validate import ParamValidator

    shape = securityhub().operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings}, shape)
    return str(report.generate_report()) if report.has_errors() else ""
