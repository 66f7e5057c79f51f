"""The base of every Bot Framework wire model: camelCase on the wire, unknown fields kept.

Channels add fields the protocol does not name (Teams ``channelData``, new protocol fields,
``aadObjectId`` on accounts), so a model that dropped them would corrupt what it forwards or
stores. Unknown fields are kept under their wire name and written back unchanged, explicit
``null`` included.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A Bot Framework JSON object.

    Attributes are snake_case in Python and camelCase on the wire; both spellings are accepted
    when building a model. Serialize with :meth:`to_wire` (or ``model_dump(by_alias=True,
    exclude_none=True)``): fields left as ``None`` are omitted, unknown fields come back as
    they arrived.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
    )

    @model_serializer(mode="wrap")
    def _keep_unknown_nulls(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        data = handler(self)
        # exclude_none is for the fields this model declares; an unknown field's explicit
        # null belongs to the channel and is written back as it came.
        extra = self.__pydantic_extra__
        if (
            extra
            and info.exclude_none
            and info.include is None
            and info.exclude is None
            and isinstance(data, dict)
        ):
            for key, value in extra.items():
                if value is None:
                    data.setdefault(key, None)
        return data

    def to_wire(self) -> dict[str, Any]:
        """The JSON object for the wire: camelCase names, no ``None`` fields, unknown kept."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_wire_json(self) -> str:
        """The same as :meth:`to_wire`, as compact JSON text."""
        return self.model_dump_json(by_alias=True, exclude_none=True)

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """Validate a decoded JSON object (wire names) into the model.

        Raises:
            pydantic.ValidationError: The object does not fit the model.
        """
        return cls.model_validate(data)
