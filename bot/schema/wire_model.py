"""The base of every Bot Framework wire model: camelCase on the wire, unknown fields kept.

Channels add fields the protocol does not name (Teams ``channelData``, new protocol fields,
``aadObjectId`` on accounts), so a model that dropped them would corrupt what it forwards or
stores. Unknown fields are kept under their wire name and written back unchanged, explicit
``null`` included.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, time, timedelta
from enum import Enum
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

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        # pydantic's deep copy runs copy.deepcopy over every field, and the turn copies
        # activities and references several times per send: that was a third of a proactive
        # send's CPU. Wire models hold JSON-shaped data, which copies much faster by hand.
        # Most models (accounts, conversations) hold only strings and None: for those the
        # test and the copy both run in C (``issuperset(map(type, ...))``, ``dict.copy``).
        cls = self.__class__
        clone = cls.__new__(cls)
        _set_slot(clone, "__dict__", _copy_fields(self.__dict__))
        extra = self.__pydantic_extra__
        _set_slot(clone, "__pydantic_extra__", None if extra is None else _copy_fields(extra))
        _set_slot(clone, "__pydantic_fields_set__", set(self.__pydantic_fields_set__))
        private = self.__pydantic_private__
        _set_slot(
            clone, "__pydantic_private__", None if private is None else copy.deepcopy(private)
        )
        return clone

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


_set_slot = object.__setattr__
"""Sets an attribute past pydantic's ``__setattr__`` (which validates and tracks fields set)."""

_ATOMIC_TYPES = frozenset(
    {str, int, float, bool, bytes, type(None), datetime, date, time, timedelta}
)
"""Immutable types, looked up by exact type: the common case, and faster than isinstance."""


def _copy_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a model's field dict (or its unknown fields)."""
    if _ATOMIC_TYPES.issuperset(map(type, fields.values())):
        return fields.copy()
    return {name: _copy_value(value) for name, value in fields.items()}


def _copy_value(value: Any) -> Any:
    """A deep copy of JSON-shaped data: wire models, lists, dicts, and immutable scalars."""
    kind = type(value)
    if kind in _ATOMIC_TYPES:
        return value
    if kind is list:
        return [_copy_value(item) for item in value]
    if kind is dict:
        return _copy_fields(value)
    if isinstance(value, WireModel):
        return value.__deepcopy__()
    if isinstance(value, Enum):
        return value
    if kind is tuple:
        return tuple(_copy_value(item) for item in value)
    return copy.deepcopy(value)
