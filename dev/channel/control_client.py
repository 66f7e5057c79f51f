"""A typed async client of the control API, for tests and tools in other processes.

    async with ChannelControl(state["connectorUrl"]) as control:
        await control.set_fault(status=429, retry_after=2, times=2)
        records = await control.wait_for_activities(conversation_id, count=1, timeout=10)

Records are the JSON of :class:`dev.channel.recorder.RecordedRequest` (``conversationId``,
``activity``, ``hasAuthorization``, ``status``, ``receivedAt``...).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Unpack
from urllib.parse import quote

import aiohttp
from pydantic.alias_generators import to_camel

from dev.channel.control import PREFIX
from dev.channel.faults import FaultSpec
from dev.channel.issuer import TokenDefect

Record = dict[str, Any]


class ChannelControlError(Exception):
    """The control API refused a call.

    Attributes:
        status: The HTTP status.
        code: The error code.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


class ChannelControl:
    """Drives a local channel through ``/_channel/...``.

    Args:
        base_url: The connector's origin (``connectorUrl``) or the control URL.
        session: An HTTP session to use (then the caller closes it); one is created if None.
        timeout: Seconds per call (waits get their own timeout on top).
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/").removesuffix(PREFIX)
        self._session = session
        self._owns_session = session is None
        self._timeout = timeout

    async def __aenter__(self) -> ChannelControl:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session if this client created it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
            self._session = None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        seconds: float | None = None,
    ) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.request(
            method,
            self.base_url + PREFIX + path,
            json=json,
            params=params,
            timeout=aiohttp.ClientTimeout(total=seconds or self._timeout),
        ) as response:
            empty = response.status == 204 or response.content_length == 0
            body = None if empty else await response.json()
            if response.status >= 400:
                error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
                raise ChannelControlError(
                    response.status,
                    str(error.get("code", "Error")),
                    str(error.get("message", "")),
                )
            return body

    async def _post(self, path: str, **fields: Any) -> dict[str, Any]:
        """POST ``fields`` as a JSON body, their names in camelCase.

        The control API's request models take their aliases from the same ``to_camel``, so a
        method's keyword arguments name the body's fields once.
        """
        body = {to_camel(name): value for name, value in fields.items()}
        result: dict[str, Any] = await self._call("POST", path, json=body)
        return result

    async def _records(self, path: str, conversation_id: str | None) -> list[Record]:
        params = {"conversationId": conversation_id} if conversation_id is not None else None
        body = await self._call("GET", path, params=params)
        return list(body["activities"])

    async def info(self) -> dict[str, Any]:
        """URLs, app id, CA paths (``GET /_channel/info``)."""
        result: dict[str, Any] = await self._call("GET", "/info")
        return result

    async def activities(self, conversation_id: str | None = None) -> list[Record]:
        """Activities the connector accepted, optionally of one conversation."""
        return await self._records("/activities", conversation_id)

    async def requests(self, conversation_id: str | None = None) -> list[Record]:
        """Every request the connector received (refused ones too)."""
        return await self._records("/requests", conversation_id)

    async def in_flight(self) -> int:
        """How many Connector requests arrived and are not answered yet."""
        return int((await self._call("GET", "/requests/in-flight"))["count"])

    async def wait_for_activities(
        self,
        conversation_id: str | None,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - the wait happens on the server
    ) -> list[Record]:
        """Wait until the connector accepted ``count`` activities for the conversation.

        Raises:
            TimeoutError: Fewer arrived within ``timeout`` seconds.
        """
        params = {"count": str(count), "timeout": str(timeout)}
        if conversation_id is not None:
            params["conversationId"] = conversation_id
        body = await self._call(
            "GET", "/activities/wait", params=params, seconds=timeout + self._timeout
        )
        if not body["complete"]:
            raise TimeoutError(
                f"{body['count']} of {count} activities recorded for conversation "
                f"{conversation_id!r} after {timeout} s"
            )
        return list(body["activities"])

    async def clear(self) -> None:
        """Forget the recorded requests."""
        await self._call("POST", "/clear")

    async def reset(self) -> None:
        """Forget records, faults, rate-limit counts and token counters."""
        await self._call("POST", "/reset")

    async def set_fault(self, **fault: Unpack[FaultSpec]) -> dict[str, Any]:
        """Inject a fault (see :class:`dev.channel.faults.Fault` for the settings and their
        defaults); returns it with its id."""
        return await self._post("/faults", **fault)

    async def faults(self) -> list[dict[str, Any]]:
        """The active faults."""
        return list((await self._call("GET", "/faults"))["faults"])

    async def clear_faults(self) -> None:
        """Remove every fault."""
        await self._call("DELETE", "/faults")

    async def set_rate_limits(self, enabled: bool, *, reset: bool = False) -> None:
        """Turn the Teams rate limits on or off; ``reset`` forgets counted requests."""
        await self._call("PUT", "/rate-limits", json={"enabled": enabled, "reset": reset})

    @contextlib.asynccontextmanager
    async def rate_limited(self) -> AsyncIterator[None]:
        """The Teams rate limits on for the block, counting from zero; off after it."""
        await self.set_rate_limits(True, reset=True)
        try:
            yield
        finally:
            await self.set_rate_limits(False, reset=True)

    async def token_stats(self) -> dict[str, int]:
        """Counters of the token endpoint: requests, issued, rejected, revoked."""
        result: dict[str, int] = await self._call("GET", "/tokens")
        return result

    async def token_requests(self) -> int:
        """How many token requests the token endpoint received."""
        return (await self.token_stats())["requests"]

    async def revoke_tokens(self) -> int:
        """Revoke every issued bot token; returns how many were revoked."""
        return int((await self._call("POST", "/tokens/revoke"))["revoked"])

    async def reset_token_stats(self) -> None:
        """Zero the token counters."""
        await self._call("POST", "/tokens/reset")

    async def channel_token(
        self,
        service_url: str | None = None,
        *,
        audience: str | None = None,
        defect: TokenDefect | None = None,
        lifetime_seconds: int = 3600,
        issued_seconds_ago: int = 0,
        omit_claims: Iterable[str] = (),
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A channel token minted by the issuer (see :meth:`ChannelIssuer.mint`)."""
        minted = await self._post(
            "/channel-token",
            service_url=service_url,
            audience=audience,
            defect=str(defect) if defect is not None else None,
            lifetime_seconds=lifetime_seconds,
            issued_seconds_ago=issued_seconds_ago,
            omit_claims=list(omit_claims),
            extra_claims=dict(extra_claims or {}),
        )
        return str(minted["token"])

    async def rotate_issuer_key(self) -> str:
        """Publish and sign with a new issuer key; returns its ``kid``."""
        return str((await self._call("POST", "/issuer/rotate"))["kid"])

    async def conversations(self) -> list[dict[str, Any]]:
        """The conversations the channel knows."""
        return list((await self._call("GET", "/conversations"))["conversations"])

    async def start_conversation(
        self,
        *,
        conversation_id: str | None = None,
        user_id: str | None = None,
        user_name: str = "Ada Lovelace",
        conversation_type: str = "personal",
        timezone: str | None = None,
    ) -> dict[str, Any]:
        """A user starts a conversation: the bot receives the conversationUpdate.

        Returns:
            ``conversationId``, ``userId``, ``conversation`` and ``started`` (the bot's
            ``status`` and ``body``).
        """
        return await self._post(
            "/conversations",
            conversation_id=conversation_id,
            user_id=user_id,
            user_name=user_name,
            conversation_type=conversation_type,
            timezone=timezone,
        )

    async def say(
        self,
        conversation_id: str | None,
        text: str,
        *,
        user_id: str | None = None,
        user_name: str | None = None,
        timezone: str | None = None,
    ) -> dict[str, Any]:
        """A user sends the bot a message (starting the conversation first if needed).

        Returns:
            ``conversationId``, ``userId``, ``started`` (or None) and ``response``: the bot's
            ``status`` and ``body``.
        """
        return await self._post(
            "/say",
            conversation_id=conversation_id,
            user_id=user_id,
            user_name=user_name,
            text=text,
            timezone=timezone,
        )

    async def invoke(
        self,
        conversation_id: str,
        name: str,
        value: Any = None,
        *,
        reply_to_id: str | None = None,
        user_id: str | None = None,
        user_name: str | None = None,
    ) -> dict[str, Any]:
        """A user's client sends the bot an invoke (a card's ``Action.Execute`` button).

        Returns:
            As :meth:`say`; ``response.body`` is the bot's invoke response.
        """
        return await self._post(
            "/invoke",
            conversation_id=conversation_id,
            user_id=user_id,
            user_name=user_name,
            name=name,
            value=value,
            reply_to_id=reply_to_id,
        )

    async def view(
        self, conversation_id: str, activity_id: str, *, user_id: str, user_name: str | None = None
    ) -> dict[str, Any]:
        """A user's client shows the card message ``activity_id``, as Teams does: refreshed
        (the automatic ``adaptiveCard/action`` invoke) when the card's ``refresh.userIds``
        lists the user.

        Returns:
            ``{"card", "refreshed", "response"}``: the card the user sees, whether it was
            refreshed, and the bot's invoke answer (``None`` when none was sent).
        """
        return await self._post(
            "/view",
            conversation_id=conversation_id,
            activity_id=activity_id,
            user_id=user_id,
            user_name=user_name,
        )

    async def send_event(
        self,
        conversation_id: str | None,
        name: str,
        value: Any = None,
        *,
        user_id: str | None = None,
        user_name: str | None = None,
        timezone: str | None = None,
    ) -> dict[str, Any]:
        """A user's client sends the bot an event (starting the conversation first if needed).

        Returns:
            As :meth:`say`.
        """
        return await self._post(
            "/event",
            conversation_id=conversation_id,
            user_id=user_id,
            user_name=user_name,
            name=name,
            value=value,
            timezone=timezone,
        )

    async def create_team(
        self,
        *,
        name: str = "Contoso",
        channels: Sequence[str] = (),
        members: int = 3,
        install_bot: bool = True,
    ) -> dict[str, Any]:
        """A team with General and ``channels``, ``members`` users, the bot added (or not).

        Returns:
            ``id``, ``tenantId``, ``channels`` (``id``, ``name``, ``threads``), ``members``
            (``id``, ``aadObjectId``, ``userPrincipalName``) and ``installed`` (the bot's
            answer to the ``conversationUpdate``).
        """
        return await self._post(
            "/teams", name=name, channels=list(channels), members=members, install_bot=install_bot
        )

    async def teams(self) -> list[dict[str, Any]]:
        """The teams the channel knows (as :meth:`create_team` answers them)."""
        return list((await self._call("GET", "/teams"))["teams"])

    async def team_event(
        self, team_id: str, event_type: str, *, channel_id: str | None = None
    ) -> dict[str, Any]:
        """A team event (``teamDeleted``, ``channelDeleted``, ``botRemoved``...) reaches the bot."""
        path = "/teams/" + quote(team_id, safe="") + "/events"
        return await self._post(path, event_type=event_type, channel_id=channel_id)

    async def channel_message(self, team_id: str, channel_id: str, text: str) -> dict[str, Any]:
        """A member starts a thread in a channel mentioning the bot.

        Returns:
            ``conversationId`` (``<channel>;messageid=<root>``), ``rootId`` and ``bot``.
        """
        path = f"/teams/{quote(team_id, safe='')}/channels/{quote(channel_id, safe='')}/messages"
        return await self._post(path, text=text)

    async def installation(self, conversation_id: str, action: str) -> dict[str, Any]:
        """The bot is added to (``add``) or removed from (``remove``) a chat."""
        return await self._post("/installations", conversation_id=conversation_id, action=action)
