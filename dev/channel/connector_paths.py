"""Which Connector operation a request path names, read from the raw path.

Conversation ids hold ``:`` ``;`` ``@`` and, from careless or hostile callers, ``/``. A client
encodes the id as ONE path segment (``quote(id, safe="")``); the server must split the raw
path on ``/`` first and decode each segment after, or ``a%2Fb`` becomes two segments.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import unquote


class Operation(enum.StrEnum):
    """The Bot Connector REST operations the local connector serves."""

    CREATE_CONVERSATION = "createConversation"
    SEND_TO_CONVERSATION = "sendToConversation"
    REPLY_TO_ACTIVITY = "replyToActivity"
    UPDATE_ACTIVITY = "updateActivity"
    DELETE_ACTIVITY = "deleteActivity"
    GET_MEMBERS = "getConversationMembers"
    GET_PAGED_MEMBERS = "getConversationPagedMembers"
    GET_MEMBER = "getConversationMember"
    GET_TEAM_DETAILS = "fetchTeamDetails"
    GET_TEAM_CHANNELS = "fetchChannelList"

    @property
    def is_read(self) -> bool:
        """Reads have their own, doubled, Teams rate limits."""
        return self in (
            Operation.GET_MEMBERS,
            Operation.GET_PAGED_MEMBERS,
            Operation.GET_MEMBER,
            Operation.GET_TEAM_DETAILS,
            Operation.GET_TEAM_CHANNELS,
        )


@dataclass(frozen=True)
class ConnectorRoute:
    """A parsed Connector request.

    Attributes:
        operation: What the request asks for.
        conversation_id: The decoded conversation id (``None`` for create).
        activity_id: The decoded activity id of reply, update and delete.
        member_id: The decoded member id of a single-member read.
    """

    operation: Operation
    conversation_id: str | None = None
    activity_id: str | None = None
    member_id: str | None = None


class PathError(ValueError):
    """The path is not a Connector operation; ``status`` is 400, 404 or 405."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_BY_SHAPE: dict[tuple[str, ...], dict[str, Operation]] = {
    (): {"POST": Operation.CREATE_CONVERSATION},
    ("{c}", "activities"): {"POST": Operation.SEND_TO_CONVERSATION},
    ("{c}", "activities", "{a}"): {
        "POST": Operation.REPLY_TO_ACTIVITY,
        "PUT": Operation.UPDATE_ACTIVITY,
        "DELETE": Operation.DELETE_ACTIVITY,
    },
    ("{c}", "members"): {"GET": Operation.GET_MEMBERS},
    ("{c}", "pagedmembers"): {"GET": Operation.GET_PAGED_MEMBERS},
    ("{c}", "members", "{m}"): {"GET": Operation.GET_MEMBER},
}


def _shape(segments: list[str]) -> tuple[str, ...]:
    # Ids become placeholders; the fixed words stay, so the table above can be looked up.
    if len(segments) > 3:
        return ("<too long>",)
    shape = ["{c}", *segments[1:2]]
    if len(segments) == 3:
        shape.append("{m}" if segments[1] == "members" else "{a}")
    return tuple(shape[: len(segments)])


def _teams_route(method: str, path: str, prefix: str) -> ConnectorRoute | None:
    """``v3/teams/{teamId}`` and ``v3/teams/{teamId}/conversations`` (the team id in
    ``conversation_id``); ``None`` for other paths."""
    base = prefix + "v3/teams/"
    if not path.startswith(base):
        return None
    segments = path[len(base) :].split("/")
    try:
        team_id = unquote(segments[0], errors="strict")
    except UnicodeDecodeError:
        raise PathError(400, "a path segment is not percent-encoded UTF-8") from None
    if not team_id or len(segments) > 2 or (len(segments) == 2 and segments[1] != "conversations"):
        raise PathError(404, f"no Connector operation at {path}")
    if method.upper() != "GET":
        raise PathError(405, f"{method} is not allowed on {path}")
    operation = Operation.GET_TEAM_CHANNELS if len(segments) == 2 else Operation.GET_TEAM_DETAILS
    return ConnectorRoute(operation, team_id)


def parse_connector_path(method: str, raw_path: str, prefix: str = "/") -> ConnectorRoute:
    """Parse a Connector request from its raw (still percent-encoded) path.

    Args:
        method: The HTTP method.
        raw_path: The request target as sent, with or without a query string.
        prefix: The serviceUrl's path, ``/`` or for example ``/teams/``.

    Returns:
        The operation and its decoded ids.

    Raises:
        PathError: Not a Connector path (404), a method the path does not take (405), or a
            segment that does not decode (400).
    """
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    teams = _teams_route(method, path, prefix)
    if teams is not None:
        return teams
    base = prefix + "v3/conversations"
    if path == base or path == base + "/":
        rest: list[str] = []
    elif path.startswith(base + "/"):
        rest = path[len(base) + 1 :].split("/")
    else:
        raise PathError(404, f"no Connector operation at {path}")
    try:
        segments = [unquote(segment, errors="strict") for segment in rest]
    except UnicodeDecodeError:
        raise PathError(400, "a path segment is not percent-encoded UTF-8") from None
    if any(segment == "" for segment in segments):
        raise PathError(404, "empty path segment: ids must be non-empty and percent-encoded")
    methods = _BY_SHAPE.get(_shape(segments))
    if methods is None:
        raise PathError(404, f"no Connector operation at {path}")
    operation = methods.get(method.upper())
    if operation is None:
        raise PathError(405, f"{method} is not allowed on {path}")
    conversation_id = segments[0] if segments else None
    activity_id = segments[2] if len(segments) == 3 and segments[1] == "activities" else None
    member_id = segments[2] if len(segments) == 3 and segments[1] == "members" else None
    return ConnectorRoute(operation, conversation_id, activity_id, member_id)
