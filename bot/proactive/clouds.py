"""The Teams Connector endpoints to start a conversation with a user the bot never heard from.

With no inbound activity there is no serviceUrl to reuse, so a new 1:1 chat is created at the
cloud's global endpoint (docs/security-model.md, "The serviceUrl allow-list"; from the Agents
SDK's ``proactive_service_endpoints``). Each is still checked against ``BOT_ALLOWED_SERVICE_URLS``
before a token is requested; the defaults of that setting include all four hosts.
"""

from __future__ import annotations

from enum import StrEnum


class TeamsCloud(StrEnum):
    """A Microsoft 365 cloud, by its Teams Connector endpoint."""

    PUBLIC = "public"
    GCC = "gcc"
    GCC_HIGH = "gcchigh"
    DOD = "dod"

    @property
    def service_url(self) -> str:
        """The cloud's global Teams Connector endpoint."""
        return TEAMS_SERVICE_URLS[self]


TEAMS_SERVICE_URLS: dict[TeamsCloud, str] = {
    TeamsCloud.PUBLIC: "https://smba.trafficmanager.net/teams/",
    TeamsCloud.GCC: "https://smba.infra.gcc.teams.microsoft.com/teams",
    TeamsCloud.GCC_HIGH: "https://smba.infra.gov.teams.microsoft.us/teams",
    TeamsCloud.DOD: "https://smba.infra.dod.teams.microsoft.us/teams",
}
"""The global Teams Connector endpoint of each cloud."""
