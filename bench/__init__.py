"""Timing figures of the bot, printed as a table and written to ``bench/results/latest.json``.

``python -m bench`` (``make bench``) runs every benchmark; ``--only NAME`` picks some, ``--quick``
shrinks them to a smoke run. Targets are informational: a figure that misses its target is
reported, never asserted (tests never assert on timing). See ``bench/README.md``.
"""
