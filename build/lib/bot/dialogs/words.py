"""How user text is compared with expected words: case, spacing and punctuation do not count."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*|\d+")


def words(text: str | None) -> tuple[str, ...]:
    """The words of a text, folded: ``"Yes, please!"`` → ``("yes", "please")``.

    Letters are case-folded and NFKC-normalised (full-width digits become digits);
    punctuation, emoji and spacing are dropped.
    """
    if not text:
        return ()
    folded = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    return tuple(_WORD.findall(folded))


def normalized(text: str | None) -> str:
    """The words of a text joined by single spaces (see :func:`words`)."""
    return " ".join(words(text))
