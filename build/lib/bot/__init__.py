"""The bot's core: protocol, authentication, proactive delivery and schedules.

``function_app.py`` stays thin and calls into this package from its HTTP, timer and queue
triggers.
"""
