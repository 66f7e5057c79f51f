"""Durable cron schedules: proactive messages sent on NCRONTAB schedules, each occurrence once.

- :mod:`bot.schedules.records`: a schedule on the wire (docs/schedules.md);
- :mod:`bot.schedules.occurrences` / :mod:`bot.schedules.intervals`: when it fires, misfires,
  and the minimum interval;
- :mod:`bot.schedules.placeholders`: ``{localDate}`` and friends in its activities;
- :mod:`bot.schedules.documents` / :mod:`bot.schedules.store`: its Cosmos DB documents;
- :mod:`bot.schedules.tick`: the timer's tick and why each occurrence is sent exactly once;
- :mod:`bot.schedules.service`: create, list, change, delete (the API and chat share it; the
  process's is built by :mod:`bot.app`, reached below it through
  :mod:`bot.schedules.process_service`);
- :mod:`bot.schedules.commands` / :mod:`bot.schedules.chat`: reminders in chat.

Nothing is imported here, so the timer does not load the chat parser and the other way round.
"""
