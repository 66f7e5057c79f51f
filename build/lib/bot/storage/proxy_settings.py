"""Whether the Azure SDK clients should read proxy settings from the environment.

azure-core's aiohttp transport trusts the environment by default, and aiohttp then looks for
proxy variables and parses ``~/.netrc`` on every request, in a worker thread: profiled on the
local host during a broadcast, that was an eighth of the process's CPU. Where no proxy is
configured (Azure Functions, most machines) the lookups find nothing, so they are turned off;
where one is, the SDKs keep honouring it. (The Bot Connector session never trusts the
environment: a request goes exactly where the serviceUrl allow-list said it may.)
"""

from __future__ import annotations

import urllib.request
from functools import cache


@cache
def use_env_settings() -> bool:
    """The ``use_env_settings`` of Cosmos DB and Storage clients: only when an
    ``http_proxy``/``https_proxy``-style variable is set."""
    return bool(urllib.request.getproxies_environment())
