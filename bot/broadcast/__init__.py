"""Broadcasts: one message to an audience, at the channel's ceiling, with progress.

- :mod:`bot.broadcast.service`: :class:`BroadcastService` (the process's:
  ``bot.app.broadcast_service.get()``): count (dry run), start, progress.
- :mod:`bot.broadcast.fanout`: the resumable fan-out, one audience page per queue message.
- :mod:`bot.broadcast.request`: the request (audience, activities, operation id).
- :mod:`bot.broadcast.records` / :mod:`bot.broadcast.store`: operations and outcomes in
  Cosmos DB.
- :mod:`bot.broadcast.audience`: counting and paging audiences.
- :mod:`bot.broadcast.ids`: operation ids and the recipients' delivery ids.
- :mod:`bot.broadcast.outcomes`: the queue sender's hook that records outcomes.

Nothing is imported here: the queue sender imports :mod:`bot.broadcast.outcomes` for every
message, and that must stay light.
"""
