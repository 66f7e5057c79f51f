"""What a caller may hand the proactive API to send: activities, texts or wire objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from bot.proactive.message import FieldError, InvalidMessageError, field_errors
from bot.schema import Activity, ActivityTypes

ActivityLike = Activity | str | Mapping[str, Any]
"""An activity, a message text, or a wire-format activity object."""


def to_activities(items: Sequence[ActivityLike]) -> list[Activity]:
    """Activities from activities, message texts and wire objects.

    Raises:
        InvalidMessageError: An item is not an activity (naming it as ``activities.<n>``).
    """
    activities: list[Activity] = []
    errors: list[FieldError] = []
    for index, item in enumerate(items):
        if isinstance(item, Activity):
            activities.append(item)
        elif isinstance(item, str):
            activities.append(Activity(type=ActivityTypes.MESSAGE, text=item))
        else:
            try:
                activities.append(Activity.from_wire(item))
            except ValidationError as error:
                errors.extend(
                    FieldError(field=f"activities.{index}.{problem.field}", message=problem.message)
                    for problem in field_errors(error)
                )
                continue
        if not activities[-1].type.strip():
            errors.append(FieldError(field=f"activities.{index}.type", message="must not be empty"))
    if not items:
        errors.append(FieldError(field="activities", message="at least one activity is required"))
    if errors:
        raise InvalidMessageError(errors)
    return activities
