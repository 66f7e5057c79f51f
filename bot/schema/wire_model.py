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
from typing import Any, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic.alias_generators import to_camel
from pydantic_core import SchemaSerializer


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
        return _clone(self, _copy_fields(self.__dict__))

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


_M = TypeVar("_M", bound=WireModel)

_set_slot = object.__setattr__
"""Sets an attribute past pydantic's ``__setattr__`` (which validates and tracks fields set)."""

_ATOMIC_TYPES = frozenset(
    {str, int, float, bool, bytes, type(None), datetime, date, time, timedelta}
)
"""Immutable types, looked up by exact type: the common case, and faster than isinstance."""


def _clone(model: _M, fields: dict[str, Any]) -> _M:
    """A copy of ``model`` with these field values, its unknown fields deep-copied."""
    cls = model.__class__
    clone = cls.__new__(cls)
    _set_slot(clone, "__dict__", fields)
    extra = model.__pydantic_extra__
    _set_slot(clone, "__pydantic_extra__", None if extra is None else _copy_fields(extra))
    _set_slot(clone, "__pydantic_fields_set__", set(model.__pydantic_fields_set__))
    private = model.__pydantic_private__
    _set_slot(clone, "__pydantic_private__", None if private is None else copy.deepcopy(private))
    return clone


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


# The proactive send's hot path (bot/schema/addressing.py, bot/turn/context.py) builds and
# addresses a few activities per send from values that are already valid: models validated
# when they were read, strings the code made. Pydantic's constructor validates each value again
# and its ``__setattr__`` costs a Python call per attribute; the three helpers below do the
# same thing without either, and tests/unit/schema/test_trusted_construction.py checks that
# they give the same wire JSON and the same ``model_fields_set`` as the validated path.


def copy_model(model: _M, /, **shared: Any) -> _M:
    """A deep copy, as ``model.model_copy(deep=True)``, without ``copy.deepcopy``'s dispatch.

    Args:
        model: The model to copy.
        **shared: Declared fields that take these values, as given, instead of a copy of
            the model's own (copies the caller has made already, to share rather than copy
            twice).

    Raises:
        TypeError: A shared name is not a declared field.
    """
    if not shared:
        return model.__deepcopy__()
    fields = model.__dict__
    if not shared.keys() <= fields.keys():
        raise TypeError(f"{type(model).__name__}: not declared fields {sorted(shared)}")
    return _clone(
        model,
        {
            name: shared[name] if name in shared else _copy_value(value)
            for name, value in fields.items()
        },
    )


_DEFAULTS: dict[type[WireModel], tuple[dict[str, Any], frozenset[str]]] = {}
"""Per model class: its fields in order with their defaults, and the names of the required ones."""


def _defaults_of(cls: type[WireModel]) -> tuple[dict[str, Any], frozenset[str]]:
    known = _DEFAULTS.get(cls)
    if known is not None:
        return known
    # Every field, in declared order (the order the serializer writes them in): the
    # defaults, and a placeholder for each required field, which the caller must replace.
    template: dict[str, Any] = {}
    required: set[str] = set()
    for name, field in cls.model_fields.items():
        if field.is_required():
            required.add(name)
            template[name] = None
        elif field.default_factory is not None or type(field.default) not in _ATOMIC_TYPES:
            # A default that must be made per instance: not for this path.
            raise TypeError(f"{cls.__name__}.{name} has a mutable default")
        else:
            template[name] = field.default
    known = _DEFAULTS[cls] = (template, frozenset(required))
    return known


def construct_valid(cls: type[_M], /, **fields: Any) -> _M:
    """``cls(**fields)`` for values known to be valid, without validating them again.

    Only for the hot path, where every value is of its field's declared type already (a
    string the code made, a model validated when it was read): nothing is checked but that
    the names are declared fields and the required ones are given. The model is the one the
    validated constructor would give: same values, ``model_fields_set`` the names given, no
    unknown fields. The values are used as given (copy models that must not be shared).

    Raises:
        TypeError: A name is not a declared field, a required field is missing, or the
            model has a field whose default must be made per instance.
    """
    template, required = _defaults_of(cls)
    if not (required <= fields.keys() and fields.keys() <= template.keys()):
        raise TypeError(f"{cls.__name__}: unknown or missing fields {sorted(fields)}")
    values = template.copy()
    values.update(fields)
    model = cls.__new__(cls)
    _set_slot(model, "__dict__", values)
    _set_slot(model, "__pydantic_fields_set__", set(fields))
    _set_slot(model, "__pydantic_extra__", {})
    _set_slot(model, "__pydantic_private__", None)
    return model


def assign_fields(model: WireModel, values: dict[str, Any]) -> None:
    """``setattr(model, name, value)`` for each declared field, in one step.

    Wire models do not validate assignment, so this is what pydantic's ``__setattr__`` does
    for a declared field (store the value, mark the field set), without a Python call per
    attribute.

    Raises:
        TypeError: A name is not a declared field (it would belong in the unknown fields).
    """
    if not values.keys() <= type(model).__pydantic_fields__.keys():
        raise TypeError(f"{type(model).__name__}: not declared fields {sorted(values)}")
    model.__dict__.update(values)
    model.__pydantic_fields_set__.update(values)


# The wire JSON of the send path. ``_keep_unknown_nulls`` above makes pydantic-core call back
# into Python for every model of an activity, and hand it a dict to serialize again: a third
# of the serialization's time, and four dicts per text message. The same bytes come from a
# serializer of the same schema without that hook, told to leave out fields equal to their
# default instead of fields that are None: where every optional field defaults to None (true
# of the Activity and everything in it), a declared field is left out exactly when it is
# None, and unknown fields, which have no default, are all written, nulls included.
# tests/unit/schema/test_trusted_construction.py compares the two on every fixture.

_HOOK_NAME = "_keep_unknown_nulls"
_WIRE_SERIALIZERS: dict[type[WireModel], SchemaSerializer | None] = {}
"""Per model class: its serializer without the hook, or ``None`` where the shortcut is wrong."""


class _NotNoneDefault(Exception):
    """A field whose default is not None, or a required one that may be None."""


def _strip_hook(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strip_hook(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if kind == "default" and ("default_factory" in schema or schema.get("default") is not None):
        raise _NotNoneDefault
    if kind == "model-field" and schema["schema"].get("type") == "nullable":
        raise _NotNoneDefault  # required, yet may be None: exclude_none would drop it
    return {
        key: _strip_hook(value)
        for key, value in schema.items()
        if not (
            key == "serialization" and getattr(value.get("function"), "__name__", "") == _HOOK_NAME
        )
    }


def _wire_serializer(cls: type[WireModel]) -> SchemaSerializer | None:
    if cls in _WIRE_SERIALIZERS:
        return _WIRE_SERIALIZERS[cls]
    try:
        serializer: SchemaSerializer | None = SchemaSerializer(
            _strip_hook(cls.__pydantic_core_schema__)
        )
    except _NotNoneDefault:
        serializer = None
    _WIRE_SERIALIZERS[cls] = serializer
    return serializer


def wire_json(model: WireModel) -> bytes:
    """The model's wire JSON (what :meth:`WireModel.to_wire_json` writes), as UTF-8 bytes.

    The same bytes as ``model.__pydantic_serializer__.to_json(model, by_alias=True,
    exclude_none=True)``, made without a call back into Python per model where the model
    allows it (see the comment above).
    """
    serializer = _wire_serializer(type(model))
    if serializer is None:
        return model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_none=True)
    return serializer.to_json(model, by_alias=True, exclude_defaults=True)
