"""Keep other web sites out of the playground's routes.

The channel listens on 127.0.0.1 only, but any page open in the developer's browser can send
requests there. Two checks keep such pages out:

* the ``Host`` header must name a loopback host (``127.0.0.1``, ``localhost``, ``[::1]``), so a
  DNS-rebinding page (``evil.example`` resolving to 127.0.0.1) cannot read the answers;
* a request that changes something must carry ``Content-Type: application/json`` (a cross-site
  form cannot send that without a CORS preflight, which the channel never grants) and, when the
  browser names its ``Origin``, come from this server's own origin.
"""

from __future__ import annotations

from aiohttp import web

from dev.channel.responses import error_response

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def cross_site_refusal(request: web.Request) -> web.Response | None:
    """The 403 for a request through a foreign host name or from another origin, else ``None``.

    This is all the control API checks: its clients are tests and scripts (no ``Origin``),
    and some of its writes have no body.
    """
    host = request.headers.get("Host", "")
    if _host_name(host).lower() not in LOOPBACK_HOSTS:
        return error_response(403, "Forbidden", "the local channel answers on loopback hosts only")
    if request.method in SAFE_METHODS:
        return None
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{host}":
        return error_response(403, "Forbidden", "cross-origin requests are not accepted")
    return None


def refusal(request: web.Request) -> web.Response | None:
    """The 403 (or 415) answer for a request from another site, or ``None`` to serve it."""
    refused = cross_site_refusal(request)
    if refused is not None or request.method in SAFE_METHODS:
        return refused
    if request.content_type != "application/json":
        return error_response(415, "UnsupportedMediaType", "send the body as application/json")
    return None
