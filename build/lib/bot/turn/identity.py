"""Who is calling: the claims of the channel's token, as the turn sees them.

The inbound token is validated elsewhere (``bot.auth``); the turn only carries the result,
so this module knows nothing about JWTs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

AUDIENCE_CLAIM = "aud"
APP_ID_CLAIM = "appid"
AUTHORIZED_PARTY_CLAIM = "azp"
VERSION_CLAIM = "ver"
TENANT_ID_CLAIM = "tid"
SERVICE_URL_CLAIM = "serviceurl"


@dataclass(frozen=True, slots=True)
class ClaimsIdentity:
    """The validated claims of a request, or of the bot itself for a proactive turn.

    Args:
        claims: Claim name to value, as decoded from the token.
        is_authenticated: Whether a token was validated (``False`` only when inbound
            authentication is disabled for local development).
        authentication_type: How the claims were obtained, for logs and diagnostics.
    """

    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    is_authenticated: bool = False
    authentication_type: str | None = None

    def __post_init__(self) -> None:
        # A read-only copy: the identity is shared by everything in the turn and must not
        # change under it.
        object.__setattr__(self, "claims", MappingProxyType(dict(self.claims)))

    @classmethod
    def anonymous(cls) -> ClaimsIdentity:
        """No claims, not authenticated: inbound authentication is disabled."""
        return cls({}, is_authenticated=False, authentication_type="anonymous")

    @classmethod
    def for_bot(cls, app_id: str) -> ClaimsIdentity:
        """The bot's own identity, for a proactive turn that no request started."""
        return cls(
            {AUDIENCE_CLAIM: app_id, APP_ID_CLAIM: app_id},
            is_authenticated=True,
            authentication_type="bot",
        )

    def get(self, name: str) -> str | None:
        """A claim's value as a string, or ``None`` when absent or not a string."""
        value = self.claims.get(name)
        return value if isinstance(value, str) else None

    @property
    def audience(self) -> str | None:
        """The ``aud`` claim: the app the token was issued for (this bot)."""
        return self.get(AUDIENCE_CLAIM)

    @property
    def app_id(self) -> str | None:
        """The app that called: ``appid`` in v1 tokens, ``azp`` in v2 tokens."""
        if self.get(VERSION_CLAIM) == "2.0":
            return self.get(AUTHORIZED_PARTY_CLAIM)
        return self.get(APP_ID_CLAIM) or self.get(AUTHORIZED_PARTY_CLAIM)

    @property
    def tenant_id(self) -> str | None:
        """The ``tid`` claim, where the token has one."""
        return self.get(TENANT_ID_CLAIM)

    @property
    def service_url(self) -> str | None:
        """The ``serviceurl`` claim of a channel token: where the activity came from."""
        return self.get(SERVICE_URL_CLAIM)
