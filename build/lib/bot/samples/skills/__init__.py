"""The sample skills of the assistant (``BOT_SAMPLE=assistant``), declared in
``config/skills.json``:

* :class:`~bot.samples.skills.calendar.CalendarSkill`: meetings from a calendar file, the
  ``DeviceStart`` "you have a meeting in 12 minutes" and proactive reminders before meetings;
* :class:`~bot.samples.skills.reminders.RemindersSkill`: repeating reminders in chat;
* :class:`~bot.samples.skills.briefing.BriefingSkill`: a greeting on ``DeviceStart`` (the
  second subscriber of that event).

Nothing is imported here: the skills file names each class by its module.
"""
