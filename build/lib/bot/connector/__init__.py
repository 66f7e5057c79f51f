"""The Bot Connector REST client: send, reply, update, delete, create conversation, members.

- :mod:`bot.connector.client`: :class:`~bot.connector.client.ConnectorClient` and the
  process-wide ``connector_client``.
- :mod:`bot.connector.errors`: :class:`~bot.connector.errors.ConnectorError` and what a
  failure means (transient, throttled, conversation gone).
- :mod:`bot.connector.sender`: :class:`~bot.connector.sender.ConnectorSender`, the turn's
  ``ActivitySender`` over the client.
- :mod:`bot.connector.http_session`: the one pooled aiohttp session of the process (also
  used to fetch the inbound signing keys).
"""
