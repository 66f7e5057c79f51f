"""Adaptive Cards: templates expanded with data, validated for Teams, and Universal Actions.

:mod:`bot.cards.templating` expands a template, :mod:`bot.cards.validation` checks a card
against Adaptive Cards 1.5, :mod:`bot.cards.attachments` does both to an activity's card
attachments before it is accepted, and :mod:`bot.cards.actions` routes ``Action.Execute``
invokes by verb.
"""

ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
"""The attachment ``contentType`` of an Adaptive Card."""
