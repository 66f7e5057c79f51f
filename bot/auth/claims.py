"""Checking a bearer token's signature and times: what the two authenticators share.

Both the Bot Framework authenticator (:mod:`bot.auth.inbound`) and the management API's
(:mod:`bot.auth.api_callers`) verify an RS256 token against a key from their signing key store
and then check issuer and audience their own way; the decoding and what its failures mean to
the caller is one piece, kept here.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.auth.errors import AuthenticationError

ALGORITHM = "RS256"
"""The only signing algorithm either authenticator accepts."""
CLOCK_SKEW_SECONDS = 5 * 60
"""How far ``exp`` and ``nbf`` may be off: clocks of the issuer and the host differ."""


def unauthorized(code: str, message: str) -> AuthenticationError:
    """A 401 naming the problem (never the token)."""
    return AuthenticationError(401, code, message)


def decode_claims(token: str, key: Any, logger: logging.Logger) -> dict[str, Any]:
    """The claims of ``token`` once its signature and times hold.

    Audience and issuer are left to the caller, who knows which it accepts.

    Args:
        token: The compact JWT.
        key: The signing key the token's ``kid`` named.
        logger: Where a rejection's kind is logged (the caller's, so the log says which API).

    Raises:
        AuthenticationError: 401 naming why the token is refused.
    """
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=[ALGORITHM],
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp"], "verify_aud": False, "verify_iss": False},
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("TokenExpired", "the token has expired") from None
    except jwt.ImmatureSignatureError:
        raise unauthorized("TokenNotYetValid", "the token is not valid yet") from None
    except jwt.InvalidSignatureError:
        raise unauthorized("InvalidSignature", "the token signature is invalid") from None
    except jwt.MissingRequiredClaimError:
        raise unauthorized("InvalidToken", "the token has no expiry") from None
    except Exception as error:  # any other decoding problem is the caller's bad token
        logger.info("token rejected: %s", type(error).__name__)
        raise unauthorized("InvalidToken", "the bearer token is invalid") from None
    return claims
