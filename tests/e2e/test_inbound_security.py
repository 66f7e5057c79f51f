"""Inbound authentication through the real ``/api/messages`` (docs/security-model.md, "Inbound").

Every case posts to the session host with a fresh conversation id and asserts the status, the
``{"error": {"code", "message"}}`` body, and that the turn never ran: the bot answers in the
turn, so after a 4xx answer the connector must have seen nothing for that conversation. The
accepted cases (a genuine token, an ``exp`` inside the leeway) prove the same requests would
have reached the handler but for the defect under test.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass

import pytest

from dev.channel import ChannelControl, TokenDefect
from dev.stack import LocalStack
from tests.e2e.security_tokens import (
    Answer,
    assert_error,
    attacker_token,
    bearer,
    encode,
    hs256_token,
    message_activity,
    new_conversation_id,
    post_to_bot,
    public_key_secrets,
    published_keys,
    unsigned_token,
    unverified_parts,
)

pytestmark = pytest.mark.e2e

ECHO_PREFIX = "You said: "
TEN_MEGABYTES = 10 * 1024 * 1024
TOKEN_LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class Bot:
    """The session host as the channel sees it."""

    messages_url: str
    service_url: str
    app_id: str
    tenant_id: str
    metadata_url: str

    def activity(self, conversation_id: str, **overrides: object) -> dict[str, object]:
        """A valid user message for this bot, with fields replaced as asked."""
        activity: dict[str, object] = message_activity(
            service_url=self.service_url,
            conversation_id=conversation_id,
            bot_id=self.app_id,
            tenant_id=self.tenant_id,
        )
        activity.update(overrides)
        return activity


@pytest.fixture
async def bot(e2e_stack: LocalStack, channel: ChannelControl) -> Bot:
    info = await channel.info()
    return Bot(
        messages_url=e2e_stack.messages_url,
        service_url=info["serviceUrl"],
        app_id=info["appId"],
        tenant_id=info["tenantId"],
        metadata_url=info["openIdMetadataUrl"],
    )


async def post_activity(
    bot: Bot, conversation_id: str, authorization: str | None, **overrides: object
) -> Answer:
    return await post_to_bot(
        bot.messages_url,
        encode(bot.activity(conversation_id, **overrides)),
        authorization=authorization,
    )


async def assert_refused_before_the_turn(
    channel: ChannelControl,
    answer: Answer,
    conversation_id: str,
    status: int,
    code: str | Collection[str],
) -> None:
    assert_error(answer, status, code)
    if status == 401:
        assert answer.headers.get("WWW-Authenticate", "").startswith("Bearer")
    # Replies are sent inside the turn, so an empty record after the answer is final.
    assert await channel.activities(conversation_id) == []
    assert await channel.requests(conversation_id) == []


async def assert_echoed(channel: ChannelControl, answer: Answer, conversation_id: str) -> None:
    assert answer.status == 200, answer.body
    received = await channel.wait_for_activities(conversation_id, 1)
    assert received[0]["activity"]["text"] == ECHO_PREFIX + "hi"


async def good_token(channel: ChannelControl, bot: Bot) -> str:
    return await channel.channel_token(bot.service_url)


async def test_a_genuine_channel_token_gets_a_turn(channel: ChannelControl, bot: Bot) -> None:
    conversation_id = new_conversation_id("genuine")

    answer = await post_activity(bot, conversation_id, bearer(await good_token(channel, bot)))

    await assert_echoed(channel, answer, conversation_id)


# 1, 2 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "MissingToken"),
        ("", "MissingToken"),
        ("Bearer", "MissingToken"),
        ("Bearer    ", "MissingToken"),
        ("Basic xyz", "InvalidAuthorizationScheme"),
        ("Basic dXNlcjpwYXNzd29yZA==", "InvalidAuthorizationScheme"),
        ("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "InvalidAuthorizationScheme"),
    ],
    ids=["absent", "empty", "bearer-alone", "bearer-blank", "basic", "basic-b64", "no-scheme"],
)
async def test_a_missing_or_non_bearer_authorization_is_401(
    channel: ChannelControl, bot: Bot, authorization: str | None, code: str
) -> None:
    conversation_id = new_conversation_id("no-bearer")

    answer = await post_activity(bot, conversation_id, authorization)

    await assert_refused_before_the_turn(channel, answer, conversation_id, 401, code)


# 3, 4, 5: forged signatures -----------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_401(channel: ChannelControl, bot: Bot, alg: str) -> None:
    conversation_id = new_conversation_id("alg-none")
    header, claims = unverified_parts(await good_token(channel, bot))

    forged = unsigned_token(claims, kid=header["kid"], alg=alg)
    answer = await post_activity(bot, conversation_id, bearer(forged))

    await assert_refused_before_the_turn(
        channel, answer, conversation_id, 401, "UnsupportedAlgorithm"
    )


async def test_alg_none_from_the_channel_is_401(channel: ChannelControl, bot: Bot) -> None:
    conversation_id = new_conversation_id("alg-none-channel")
    token = await channel.channel_token(bot.service_url, defect=TokenDefect.ALG_NONE)

    answer = await post_activity(bot, conversation_id, bearer(token))

    await assert_refused_before_the_turn(
        channel, answer, conversation_id, 401, "UnsupportedAlgorithm"
    )


async def test_hs256_with_any_public_encoding_of_the_key_as_secret_is_401(
    channel: ChannelControl, bot: Bot
) -> None:
    header, claims = unverified_parts(await good_token(channel, bot))
    published = {key["kid"]: key for key in await published_keys(bot.metadata_url)}
    secrets = public_key_secrets(published[header["kid"]])
    assert {"spki-pem", "spki-der", "jwk-json", "x5c-der"} <= set(secrets)
    forged = {
        name: hs256_token(claims, kid=header["kid"], secret=secret)
        for name, secret in secrets.items()
    }
    forged["channel-defect"] = await channel.channel_token(
        bot.service_url, defect=TokenDefect.HS256_PUBLIC_KEY
    )

    for name, token in forged.items():
        conversation_id = new_conversation_id(f"hs256-{name}")
        answer = await post_activity(bot, conversation_id, bearer(token))
        await assert_refused_before_the_turn(
            channel, answer, conversation_id, 401, "UnsupportedAlgorithm"
        )


async def test_an_attacker_key_with_a_published_kid_is_401(
    channel: ChannelControl, bot: Bot
) -> None:
    _, claims = unverified_parts(await good_token(channel, bot))
    published = await published_keys(bot.metadata_url)
    forged = [attacker_token(claims, kid=key["kid"]) for key in published]
    forged.append(await channel.channel_token(bot.service_url, defect=TokenDefect.FOREIGN_KEY))

    for token in forged:
        conversation_id = new_conversation_id("attacker-key")
        answer = await post_activity(bot, conversation_id, bearer(token))
        await assert_refused_before_the_turn(
            channel, answer, conversation_id, 401, "InvalidSignature"
        )


async def test_a_tampered_claim_breaks_the_signature(channel: ChannelControl, bot: Bot) -> None:
    conversation_id = new_conversation_id("tampered")
    token = await good_token(channel, bot)
    header_part, _, signature = token.split(".")
    _, claims = unverified_parts(token)
    claims["exp"] += 24 * 3600
    tampered_claims = unsigned_token(claims, kid="x").split(".")[1]

    answer = await post_activity(
        bot, conversation_id, bearer(f"{header_part}.{tampered_claims}.{signature}")
    )

    await assert_refused_before_the_turn(channel, answer, conversation_id, 401, "InvalidSignature")


# 6: unknown kid --------------------------------------------------------------------------


async def test_an_unknown_kid_is_401_not_500_however_often(
    channel: ChannelControl, bot: Bot
) -> None:
    for _ in range(3):
        conversation_id = new_conversation_id("unknown-kid")
        token = await channel.channel_token(bot.service_url, defect=TokenDefect.UNKNOWN_KID)
        answer = await post_activity(bot, conversation_id, bearer(token))
        await assert_refused_before_the_turn(
            channel, answer, conversation_id, 401, "UnknownSigningKey"
        )

    # The refetches the unknown kids caused left the cached keys usable.
    conversation_id = new_conversation_id("after-unknown-kid")
    answer = await post_activity(bot, conversation_id, bearer(await good_token(channel, bot)))
    await assert_echoed(channel, answer, conversation_id)


# 7, 8: time ---------------------------------------------------------------------------------


def _expired_ago(seconds: int) -> int:
    """``issued_seconds_ago`` for a one-hour token whose ``exp`` is ``seconds`` in the past."""
    return TOKEN_LIFETIME_SECONDS + seconds


async def test_exp_six_minutes_ago_is_401(channel: ChannelControl, bot: Bot) -> None:
    conversation_id = new_conversation_id("expired-6m")
    token = await channel.channel_token(
        bot.service_url,
        lifetime_seconds=TOKEN_LIFETIME_SECONDS,
        issued_seconds_ago=_expired_ago(6 * 60),
    )

    answer = await post_activity(bot, conversation_id, bearer(token))

    await assert_refused_before_the_turn(channel, answer, conversation_id, 401, "TokenExpired")


async def test_exp_four_minutes_ago_is_inside_the_leeway(channel: ChannelControl, bot: Bot) -> None:
    conversation_id = new_conversation_id("expired-4m")
    token = await channel.channel_token(
        bot.service_url,
        lifetime_seconds=TOKEN_LIFETIME_SECONDS,
        issued_seconds_ago=_expired_ago(4 * 60),
    )

    answer = await post_activity(bot, conversation_id, bearer(token))

    await assert_echoed(channel, answer, conversation_id)


@pytest.mark.parametrize(
    ("defect", "code"),
    [
        (TokenDefect.EXPIRED, "TokenExpired"),
        (TokenDefect.NOT_YET_VALID, "TokenNotYetValid"),
        (TokenDefect.MISSING_EXPIRY, "InvalidToken"),
    ],
)
async def test_tokens_outside_their_validity_are_401(
    channel: ChannelControl, bot: Bot, defect: TokenDefect, code: str
) -> None:
    conversation_id = new_conversation_id(f"time-{defect}")
    token = await channel.channel_token(bot.service_url, defect=defect)

    answer = await post_activity(bot, conversation_id, bearer(token))

    await assert_refused_before_the_turn(channel, answer, conversation_id, 401, code)


# 9, 10: issuer and audience --------------------------------------------------------------


async def test_entra_and_near_miss_issuers_are_401(channel: ChannelControl, bot: Bot) -> None:
    tokens = [
        await channel.channel_token(bot.service_url, defect=TokenDefect.WRONG_ISSUER),
        await channel.channel_token(
            bot.service_url, extra_claims={"iss": f"https://sts.windows.net/{bot.tenant_id}/"}
        ),
        await channel.channel_token(
            bot.service_url,
            extra_claims={"iss": f"https://login.microsoftonline.com/{bot.tenant_id}/v2.0"},
        ),
        await channel.channel_token(
            bot.service_url, extra_claims={"iss": "https://api.botframework.com/"}
        ),
        await channel.channel_token(bot.service_url, omit_claims=["iss"]),
    ]

    for token in tokens:
        conversation_id = new_conversation_id("issuer")
        answer = await post_activity(bot, conversation_id, bearer(token))
        await assert_refused_before_the_turn(channel, answer, conversation_id, 401, "InvalidIssuer")


async def test_another_audience_or_an_audience_list_is_401(
    channel: ChannelControl, bot: Bot
) -> None:
    tokens = [
        await channel.channel_token(bot.service_url, defect=TokenDefect.WRONG_AUDIENCE),
        await channel.channel_token(bot.service_url, defect=TokenDefect.AUDIENCE_LIST),
        await channel.channel_token(
            bot.service_url, extra_claims={"aud": [bot.app_id, "another-app"]}
        ),
        await channel.channel_token(bot.service_url, extra_claims={"aud": bot.app_id.upper()}),
        await channel.channel_token(bot.service_url, omit_claims=["aud"]),
    ]

    for token in tokens:
        conversation_id = new_conversation_id("audience")
        answer = await post_activity(bot, conversation_id, bearer(token))
        await assert_refused_before_the_turn(
            channel, answer, conversation_id, 401, "InvalidAudience"
        )


# 11: serviceUrl binding ---------------------------------------------------------------------


async def test_a_service_url_differing_from_the_claim_is_refused(
    channel: ChannelControl, bot: Bot
) -> None:
    token = await good_token(channel, bot)
    assert bot.service_url.endswith("/")
    variants = [
        bot.service_url.rstrip("/"),  # trailing slash dropped
        bot.service_url + "teams/",  # another path on the same allowed host
        bot.service_url + "/",  # double slash
        bot.service_url.replace("http://", "HTTP://"),  # same URL, other spelling
    ]

    for service_url in variants:
        conversation_id = new_conversation_id("service-url")
        answer = await post_activity(bot, conversation_id, bearer(token), serviceUrl=service_url)
        await assert_refused_before_the_turn(
            channel, answer, conversation_id, 403, "ServiceUrlMismatch"
        )


async def test_a_claim_for_another_service_url_is_403(channel: ChannelControl, bot: Bot) -> None:
    conversation_id = new_conversation_id("claim-elsewhere")
    token = await channel.channel_token(bot.service_url, defect=TokenDefect.WRONG_SERVICE_URL)

    answer = await post_activity(bot, conversation_id, bearer(token))

    await assert_refused_before_the_turn(
        channel, answer, conversation_id, 403, "ServiceUrlMismatch"
    )


async def test_a_channel_token_without_a_serviceurl_claim_is_401(
    channel: ChannelControl, bot: Bot
) -> None:
    conversation_id = new_conversation_id("no-claim")
    token = await channel.channel_token(bot.service_url, defect=TokenDefect.MISSING_SERVICE_URL)

    answer = await post_activity(bot, conversation_id, bearer(token))

    await assert_refused_before_the_turn(
        channel, answer, conversation_id, 401, "MissingServiceUrlClaim"
    )


# 12: endorsements, channelId --------------------------------------------------------------


async def test_a_key_not_endorsed_for_msteams_is_403(channel: ChannelControl, bot: Bot) -> None:
    conversation_id = new_conversation_id("unendorsed")
    token = await channel.channel_token(bot.service_url, defect=TokenDefect.UNENDORSED_KEY)

    answer = await post_activity(bot, conversation_id, bearer(token), channelId="msteams")

    await assert_refused_before_the_turn(
        channel, answer, conversation_id, 403, "ChannelNotEndorsed"
    )


async def test_a_channel_the_key_is_not_endorsed_for_is_403(
    channel: ChannelControl, bot: Bot
) -> None:
    conversation_id = new_conversation_id("other-channel")

    answer = await post_activity(
        bot, conversation_id, bearer(await good_token(channel, bot)), channelId="telegram"
    )

    await assert_refused_before_the_turn(
        channel, answer, conversation_id, 403, "ChannelNotEndorsed"
    )


@pytest.mark.parametrize("channel_id", ["", "   ", None])
async def test_an_empty_channel_id_is_400(
    channel: ChannelControl, bot: Bot, channel_id: str | None
) -> None:
    conversation_id = new_conversation_id("empty-channel")

    answer = await post_activity(
        bot, conversation_id, bearer(await good_token(channel, bot)), channelId=channel_id
    )

    await assert_refused_before_the_turn(
        channel, answer, conversation_id, 400, ("InvalidActivity", "MissingChannelId")
    )


# 13, 14, 15: the body -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_megabytes_of_garbage() -> bytes:
    return os.urandom(TEN_MEGABYTES)


@pytest.mark.parametrize("signed", [False, True], ids=["no-token", "valid-token"])
async def test_ten_megabytes_are_413_before_anything_is_parsed(
    channel: ChannelControl, bot: Bot, ten_megabytes_of_garbage: bytes, signed: bool
) -> None:
    authorization = bearer(await good_token(channel, bot)) if signed else None

    answer = await post_to_bot(
        bot.messages_url, ten_megabytes_of_garbage, authorization=authorization
    )

    # Garbage is neither a token problem (401 comes after the size) nor a JSON problem (400).
    assert_error(answer, 413, "PayloadTooLarge")


async def test_a_bad_body_without_a_token_is_401_not_400(channel: ChannelControl, bot: Bot) -> None:
    answer = await post_to_bot(bot.messages_url, b'{"type": "mess', authorization=None)

    assert_error(answer, 401, "MissingToken")


@pytest.mark.parametrize(
    ("shape", "status", "code"),
    [
        ("truncated", 400, "InvalidJson"),
        ("array", 400, "InvalidJson"),
        ("text-plain", 415, "UnsupportedMediaType"),
        ("no-content-type", 415, "UnsupportedMediaType"),
        ("form", 415, "UnsupportedMediaType"),
    ],
)
async def test_a_body_that_is_not_an_activity_object_is_refused(
    channel: ChannelControl, bot: Bot, shape: str, status: int, code: str
) -> None:
    conversation_id = new_conversation_id(f"body-{shape}")
    whole = encode(bot.activity(conversation_id))
    body, content_type = {
        "truncated": (whole[: len(whole) // 2], "application/json"),
        "array": (b"[" + whole + b"]", "application/json"),
        "text-plain": (whole, "text/plain"),
        "no-content-type": (whole, None),
        "form": (whole, "application/x-www-form-urlencoded"),
    }[shape]

    answer = await post_to_bot(
        bot.messages_url,
        body,
        authorization=bearer(await good_token(channel, bot)),
        content_type=content_type,
    )

    await assert_refused_before_the_turn(channel, answer, conversation_id, status, code)


@pytest.mark.parametrize(
    "defect",
    [
        "no-type",
        "empty-type",
        "no-conversation",
        "conversation-without-id",
        "empty-conversation-id",
    ],
)
async def test_an_activity_without_type_or_conversation_id_is_400(
    channel: ChannelControl, bot: Bot, defect: str
) -> None:
    conversation_id = new_conversation_id(f"fields-{defect}")
    activity = bot.activity(conversation_id)
    match defect:
        case "no-type":
            del activity["type"]
        case "empty-type":
            activity["type"] = ""
        case "no-conversation":
            del activity["conversation"]
        case "conversation-without-id":
            activity["conversation"] = {"conversationType": "personal"}
        case "empty-conversation-id":
            activity["conversation"] = {"id": "", "conversationType": "personal"}

    answer = await post_to_bot(
        bot.messages_url, encode(activity), authorization=bearer(await good_token(channel, bot))
    )

    await assert_refused_before_the_turn(channel, answer, conversation_id, 400, "InvalidActivity")
