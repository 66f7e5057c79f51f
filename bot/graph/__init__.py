"""Microsoft Graph, app-only, for what the Bot Connector cannot do: finding a user by name and
installing the bot's Teams app for a user (docs/targets.md, docs/deployment.md)."""
