"""The base of every model that reads what a caller or a configuration file sends us.

camelCase on the wire (snake_case in Python, both accepted when building one), frozen, and
unknown fields refused: in a request body or a configuration file a misspelt field is a
mistake to report, not data to keep. (Bot Framework activities are the opposite: see
:class:`bot.schema.wire_model.WireModel`, which keeps unknown fields.)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class RequestModel(BaseModel):
    """A frozen, camelCase model that refuses unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )
