"""The serviceUrl allow-list (``BOT_ALLOWED_SERVICE_URLS``).

The bot's token is valid for every Connector endpoint, and the SDKs attach it to whatever
serviceUrl a conversation reference names (docs/security-model.md, "Outbound"). A poisoned
reference could therefore send the token anywhere, so every outbound call first checks its
serviceUrl here, before a token is requested.

An entry is ``scheme://host[:port]``. A host starting with ``*.`` matches subdomains (whole
labels), never the bare suffix; a port of ``*`` matches any port; no port means the scheme's
default port only. ``http`` entries are accepted only for loopback hosts.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from bot.auth.errors import ServiceUrlNotAllowed
from bot.loopback import is_loopback_host
from bot.process_client import ProcessClient
from bot.settings import Settings, SettingsError, get_settings

SETTING_NAME = "BOT_ALLOWED_SERVICE_URLS"
DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_URL_LENGTH = 2048
MAX_CACHED_URLS = 4096

# Hostnames are matched as plain lowercase ASCII, so IDNA, percent-encoding, fullwidth dots
# and trailing dots cannot make two different spellings compare equal.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")
# Real Connector paths are like /teams/ or /amer/<tenant>/; anything fancier is a trick.
_PATH = re.compile(r"[A-Za-z0-9._~/-]*")
_FORBIDDEN_URL_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True, slots=True)
class _Entry:
    scheme: str
    host: str
    """Lowercase host; for a wildcard entry, the suffix without ``*.``."""
    wildcard: bool
    port: int | None
    """The one allowed port, or ``None`` for "the default port" (or any, see below)."""
    any_port: bool

    def matches(self, scheme: str, host: str, port: int) -> bool:
        if scheme != self.scheme:
            return False
        if self.wildcard:
            if not host.endswith("." + self.host):
                return False
        elif host != self.host:
            return False
        if self.any_port:
            return True
        return port == (self.port if self.port is not None else DEFAULT_PORTS[scheme])


@dataclass(frozen=True, slots=True)
class _ParsedUrl:
    scheme: str
    host: str
    port: int
    base: str


def _valid_hostname(host: str) -> bool:
    if not host or len(host) > 253 or not host.isascii():
        return False
    return all(_LABEL.fullmatch(label) for label in host.split("."))


def _split_host_port(netloc: str) -> tuple[str, str | None] | None:
    """Split ``host[:port]`` or ``[v6][:port]``; ``None`` when it is malformed."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            return None
        host, rest = netloc[1:end], netloc[end + 1 :]
        try:
            # Zone ids ("%eth0") and other oddities fail here.
            host = str(ipaddress.IPv6Address(host))
        except ValueError:
            return None
        if not rest:
            return host, None
        if not rest.startswith(":"):
            return None
        return host, rest[1:]
    host, colon, port = netloc.partition(":")
    if not colon:
        return host, None
    if ":" in port:
        return None
    return host, port


def _valid_host(host: str) -> bool:
    if ":" in host:
        return True  # an IPv6 literal, already validated by _split_host_port
    return _valid_hostname(host)


def _parse_entry(entry: str) -> _Entry:
    def invalid(reason: str) -> SettingsError:
        return SettingsError(f"{SETTING_NAME}: invalid entry {entry!r}: {reason}")

    scheme, separator, rest = entry.strip().partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in DEFAULT_PORTS:
        raise invalid("expected https://host[:port] (or http:// for a loopback host)")
    rest = rest.removesuffix("/")
    if not rest or any(character in rest for character in "/?#@\\"):
        raise invalid("only scheme://host[:port] is allowed, without path or userinfo")
    split = _split_host_port(rest.lower())
    if split is None:
        raise invalid("malformed host or port")
    host, port_text = split
    wildcard = host.startswith("*.")
    if wildcard:
        host = host[2:]
        if host.count(".") < 1:
            raise invalid("a wildcard needs at least two labels after '*.'")
    if not _valid_host(host):
        raise invalid("the host must be a plain ASCII hostname or an IP address")
    any_port = port_text == "*"
    port: int | None = None
    if port_text is not None and not any_port:
        if not _PORT.fullmatch(port_text) or not 0 < int(port_text) < 65536:
            raise invalid("the port must be a number or '*'")
        port = int(port_text)
    if scheme == "http" and (wildcard or not is_loopback_host(host)):
        raise invalid("http is only allowed for a loopback host (127.0.0.1, ::1, localhost)")
    return _Entry(scheme, host, wildcard, port, any_port)


def _display_host(host: str | None) -> str | None:
    """The host as it may appear in a message: printable ASCII, bounded."""
    if not host:
        return None
    cleaned = "".join(c if c.isascii() and c.isprintable() else "?" for c in host)
    return cleaned[:100]


class ServiceUrlPolicy:
    """A parsed allow-list; :meth:`check` says whether a serviceUrl may receive the token.

    Args:
        entries: The ``BOT_ALLOWED_SERVICE_URLS`` entries.
        loopback_only: Also require a loopback host (``BOT_AUTH_DISABLED=true``); the URL must
            still match an entry.

    Raises:
        SettingsError: An entry is malformed; the message names the setting and the entry.
    """

    def __init__(self, entries: Iterable[str], *, loopback_only: bool = False) -> None:
        self._entries = tuple(_parse_entry(entry) for entry in entries if entry.strip())
        self._loopback_only = loopback_only
        self._allowed: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceUrlPolicy:
        """The policy the settings describe."""
        return cls(settings.allowed_service_urls, loopback_only=settings.auth_disabled)

    def check(self, service_url: str) -> str:
        """Raise unless ``service_url`` is allowed; return the base URL to build requests on.

        Args:
            service_url: A serviceUrl from an activity, a stored reference or a caller.

        Returns:
            ``scheme://host[:port]/path`` without a trailing slash, so that
            ``base + "/v3/conversations"`` is the Connector route.

        Raises:
            ServiceUrlNotAllowed: The URL is malformed or not on the allow-list.
        """
        if not isinstance(service_url, str):
            raise ServiceUrlNotAllowed(None, "the serviceUrl is not a string")
        base = self._allowed.get(service_url)
        if base is not None:
            return base
        parsed = self._parse(service_url)
        if self._loopback_only and not is_loopback_host(parsed.host):
            raise ServiceUrlNotAllowed(
                _display_host(parsed.host),
                "only loopback serviceUrls are allowed while BOT_AUTH_DISABLED=true",
            )
        if not any(
            entry.matches(parsed.scheme, parsed.host, parsed.port) for entry in self._entries
        ):
            raise ServiceUrlNotAllowed(
                _display_host(parsed.host), f"scheme, host or port not in {SETTING_NAME}"
            )
        if len(self._allowed) >= MAX_CACHED_URLS:
            self._allowed.clear()
        self._allowed[service_url] = parsed.base
        return parsed.base

    def is_allowed(self, service_url: str) -> bool:
        """True when :meth:`check` would accept ``service_url``."""
        try:
            self.check(service_url)
        except ServiceUrlNotAllowed:
            return False
        return True

    @staticmethod
    def _parse(service_url: str) -> _ParsedUrl:
        if not service_url:
            raise ServiceUrlNotAllowed(None, "the serviceUrl is missing")
        if len(service_url) > MAX_URL_LENGTH or _FORBIDDEN_URL_CHARACTERS.search(service_url):
            raise ServiceUrlNotAllowed(None, "the serviceUrl contains forbidden characters")
        try:
            parts: SplitResult = urlsplit(service_url)
        except ValueError:
            raise ServiceUrlNotAllowed(None, "the serviceUrl is not a valid URL") from None
        scheme = parts.scheme.lower()
        netloc = parts.netloc
        if scheme not in DEFAULT_PORTS or not netloc:
            raise ServiceUrlNotAllowed(None, "the serviceUrl must be an absolute https URL")
        if "@" in netloc:
            # Never echo userinfo: it may hold credentials.
            raise ServiceUrlNotAllowed(None, "userinfo is not allowed in a serviceUrl")
        split = _split_host_port(netloc.lower())
        if split is None:
            raise ServiceUrlNotAllowed(_display_host(netloc), "malformed host or port")
        host, port_text = split
        if not _valid_host(host):
            raise ServiceUrlNotAllowed(_display_host(host), "the host is not a plain hostname")
        if port_text is None:
            port = DEFAULT_PORTS[scheme]
        elif _PORT.fullmatch(port_text) and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            raise ServiceUrlNotAllowed(_display_host(host), "malformed port")
        if parts.query or parts.fragment or "?" in service_url or "#" in service_url:
            raise ServiceUrlNotAllowed(
                _display_host(host), "a query or fragment is not allowed in a serviceUrl"
            )
        path = parts.path.rstrip("/")
        if not _PATH.fullmatch(path) or any(s in (".", "..") for s in path.split("/")):
            raise ServiceUrlNotAllowed(_display_host(host), "the serviceUrl path is not allowed")
        authority = f"[{host}]" if ":" in host else host
        if port_text is not None and port != DEFAULT_PORTS[scheme]:
            authority = f"{authority}:{port}"
        return _ParsedUrl(scheme, host, port, f"{scheme}://{authority}{path}")


_policy: ProcessClient[ServiceUrlPolicy] = ProcessClient(
    lambda: ServiceUrlPolicy.from_settings(get_settings()), key=get_settings, per_loop=False
)


def service_url_policy() -> ServiceUrlPolicy:
    """The process-wide policy, built from :func:`bot.settings.get_settings` on first use."""
    return _policy.get()


def check_service_url(service_url: str) -> str:
    """Check ``service_url`` against the process-wide policy.

    Returns:
        The base URL (see :meth:`ServiceUrlPolicy.check`).

    Raises:
        ServiceUrlNotAllowed: The URL is not allowed.
    """
    return service_url_policy().check(service_url)
