"""Who may talk to the bot, where the bot may send its token, and how it gets one.

- :mod:`bot.auth.service_url`: the ``BOT_ALLOWED_SERVICE_URLS`` allow-list, checked before any
  outbound token is requested.
- :mod:`bot.auth.inbound`: Bot Framework JWT validation for ``POST /api/messages``.
- :mod:`bot.auth.signing_keys`: the cached OpenID signing keys inbound validation uses.
- :mod:`bot.auth.outbound`: the bot's own access token for the Connector (MSAL).
- :mod:`bot.auth.errors`: the typed errors of all of the above.

The submodules are imported on demand so that a cold start pays only for what it uses.
"""
