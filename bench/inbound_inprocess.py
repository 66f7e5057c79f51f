"""Inbound cost per activity, in process: token, parse, turn.

What ``POST /api/messages`` does for each activity, without HTTP: verify the channel token
(RS256, the signing keys already cached), parse the body (``parse_activity_body``), check the
activity against the token, then run the turn (:class:`~bot.samples.echo.EchoBot` through
:class:`~bot.turn.BotAdapter`). Replies go to a sender that only counts them, and there is no
reference capture (it needs Cosmos DB; ``inbound_http`` measures it on the emulator).

Tokens are minted with a local RSA key and the JWKS is handed to the key store by an
in-memory fetcher, so nothing is contacted. The body is a Teams personal-chat message with an
@mention, client info and channel data, about 1.4 KB.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import jwt

from bench.activities import CONTENT_TYPE, teams_message
from bench.latency import LatencySummary, milliseconds
from bench.report import Check, Row, Target
from bench.session import BenchSession
from bot.auth.inbound import InboundAuthenticator
from bot.auth.service_url import ServiceUrlPolicy
from bot.auth.signing_keys import SigningKeyStore
from bot.samples.echo import EchoBot
from bot.schema import Activity, ConversationReference, ResourceResponse, parse_activity_body
from bot.settings import DEFAULT_ALLOWED_SERVICE_URLS
from bot.turn import BotAdapter, ClaimsIdentity
from dev.channel.keys import SigningKey

NAME = "inbound"
TARGET_P50_MS = 1.0
WARMUP = 200
TOKENS = 16
"""Distinct tokens, used in turn (a channel reuses its token for many activities)."""
CONVERSATIONS = 100

APP_ID = "00000000-0000-4000-8000-0000000be7c4"
ISSUER = "https://api.botframework.com"
SERVICE_URL = "https://smba.trafficmanager.net/emea/"
METADATA_URL = "https://login.botframework.test/v1/.well-known/openidconfiguration"
JWKS_URL = "https://login.botframework.test/v1/.well-known/keys"


class CountingSender:
    """An ``ActivitySender`` that keeps nothing: it counts sends and answers ids."""

    def __init__(self) -> None:
        self.sent = 0

    async def send_activities(
        self, reference: ConversationReference, activities: Sequence[Activity]
    ) -> list[ResourceResponse]:
        """Count the activities and answer an id for each."""
        del reference
        self.sent += len(activities)
        return [ResourceResponse(id=f"activity-{self.sent}") for _ in activities]

    async def update_activity(
        self, reference: ConversationReference, activity: Activity
    ) -> ResourceResponse:
        """Answer the activity's own id."""
        del reference
        return ResourceResponse(id=activity.id)

    async def delete_activity(self, reference: ConversationReference, activity_id: str) -> None:
        """Nothing to delete."""
        del reference, activity_id


def mint(key: SigningKey, index: int) -> str:
    """A channel token for :data:`SERVICE_URL`, as the Bot Connector signs it."""
    now = int(time.time())
    claims = {
        "serviceurl": SERVICE_URL,
        "nbf": now - 60,
        "exp": now + 3600,
        "iat": now - 60,
        "iss": ISSUER,
        "aud": APP_ID,
        "jti": f"bench-{index}",
    }
    return jwt.encode(
        claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "x5t": key.x5t}
    )


async def _measure(count: int) -> dict[str, Any]:
    key = SigningKey.generate("bench channel issuer", ("msteams",))
    documents = {
        METADATA_URL: {"issuer": ISSUER, "jwks_uri": JWKS_URL},
        JWKS_URL: {"keys": [key.public_jwk()]},
    }

    async def fetch_json(url: str) -> Any:
        return documents[url]

    keys = SigningKeyStore(METADATA_URL, fetch_json)
    authenticator = InboundAuthenticator(
        app_id=APP_ID,
        channel_keys=keys,
        channel_issuer=ISSUER,
        service_urls=ServiceUrlPolicy(DEFAULT_ALLOWED_SERVICE_URLS),
    )
    sender = CountingSender()
    adapter = BotAdapter(sender)
    bot = EchoBot()
    headers = [f"Bearer {mint(key, index)}" for index in range(TOKENS)]
    bodies = [
        teams_message(index, conversation=index, service_url=SERVICE_URL, app_id=APP_ID)
        for index in range(CONVERSATIONS)
    ]

    auth_times: list[float] = []
    parse_times: list[float] = []
    turn_times: list[float] = []
    totals: list[float] = []
    statuses: dict[int, int] = {}
    clock = time.perf_counter
    for index in range(WARMUP + count):
        body = bodies[index % CONVERSATIONS]
        started = clock()
        inbound = await authenticator.authenticate(headers[index % TOKENS])
        authenticated = clock()
        activity = parse_activity_body(body, CONTENT_TYPE)
        authenticator.check_activity(
            inbound, channel_id=activity.channel_id, service_url=activity.service_url
        )
        parsed = clock()
        identity = ClaimsIdentity(
            inbound.claims,
            is_authenticated=inbound.is_authenticated,
            authentication_type=inbound.kind,
        )
        result = await adapter.process_activity(activity, identity, bot.on_turn)
        finished = clock()
        if index < WARMUP:
            continue
        statuses[result.status] = statuses.get(result.status, 0) + 1
        auth_times.append(authenticated - started)
        parse_times.append(parsed - authenticated)
        turn_times.append(finished - parsed)
        totals.append(finished - started)
    return {
        "total": LatencySummary.of_seconds(totals),
        "auth": LatencySummary.of_seconds(auth_times),
        "parse": LatencySummary.of_seconds(parse_times),
        "turn": LatencySummary.of_seconds(turn_times),
        "statuses": statuses,
        "replies": sender.sent - WARMUP,
        "key_fetches": keys.fetch_count,
    }


def run(session: BenchSession) -> list[Row]:
    """Measure token validation, parsing and the echo turn per activity."""
    count = session.sizes.inbound_activities
    measured = asyncio.run(_measure(count))
    total: LatencySummary = measured["total"]
    stages = {stage: measured[stage] for stage in ("auth", "parse", "turn")}
    not_ok = count - measured["statuses"].get(200, 0)
    figures: dict[str, float | int | str | None] = {
        "activities": count,
        "p50_ms": round(total.p50_ms, 4),
        "p99_ms": round(total.p99_ms, 4),
        "max_ms": round(total.max_ms, 3),
        "activities_per_s": round(1000 / total.mean_ms, 1),
        **{f"{stage}_p50_ms": round(summary.p50_ms, 4) for stage, summary in stages.items()},
        **{f"{stage}_p99_ms": round(summary.p99_ms, 4) for stage, summary in stages.items()},
    }
    breakdown = ", ".join(
        f"{stage} {milliseconds(summary.p50_ms)}" for stage, summary in stages.items()
    )
    return [
        Row(
            NAME,
            f"{total.describe()} ({count:,} activities, {1000 / total.mean_ms:,.0f}/s)",
            figures,
            targets=(Target("p50_ms", TARGET_P50_MS, "ms", higher_is_better=False, label="p50"),),
            checks=(
                Check("non-200 answers", not_ok),
                Check("missing replies", count - measured["replies"]),
            ),
            notes=[
                f"p50 by stage: {breakdown} (token / parse + check / EchoBot turn)",
                f"signing keys fetched {measured['key_fetches']} time(s); replies counted, "
                "not sent; no reference capture",
            ],
        )
    ]
