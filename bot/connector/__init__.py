"""The Bot Connector REST client: send, reply, update, delete, create conversation, members.

- :mod:`bot.connector.client`: :class:`~bot.connector.client.ConnectorClient` and the
  process-wide ``connector_client``.
- :mod:`bot.connector.errors`: :class:`~bot.connector.errors.ConnectorError` and what a
  failure means (transient, throttled, conversation gone).
- :mod:`bot.connector.sender`: :class:`~bot.connector.sender.ConnectorSender`, the turn's
  ``ActivitySender`` over the client.

The pooled aiohttp session it sends with is :mod:`bot.http_session`, below both this package
and :mod:`bot.auth`, which fetches the inbound signing keys through it.
"""
