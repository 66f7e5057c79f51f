"""Whether a host name is this machine: the development exceptions hinge on it.

Below both the settings (no loopback ``serviceUrl`` in Azure) and :mod:`bot.auth` (the
serviceUrl allow-list, plain-HTTP signing keys from a local issuer), which each ask.
"""

from __future__ import annotations

import ipaddress


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1`` (host already lowercased)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
