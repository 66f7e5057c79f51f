"""An activity's Adaptive Card attachments, made ready before the activity is accepted.

An Adaptive Card attachment may carry its card as a template and data instead of
``content``::

    {"contentType": "application/vnd.microsoft.card.adaptive",
     "template": {...an Adaptive Card template...} | "templateId": "incident-alert",
     "data": {"title": "Disk full", "severity": "high"}}

``templateId`` names ``<id>.json`` in the templates folder (``CARD_TEMPLATES_PATH``, default
``config/cards``). The template is expanded with the data (:mod:`bot.cards.templating`), the
result becomes ``content``, and ``template``/``templateId``/``data`` are dropped: the Connector
only ever sees a plain card. Every Adaptive Card attachment, expanded or given as
``content``, is then validated (:mod:`bot.cards.validation`); a problem raises
:class:`CardError` naming its JSON path from the activity, so the API answers 400 and the
queue poisons the message with that path.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

from bot.cards import ADAPTIVE_CARD_CONTENT_TYPE
from bot.cards.templating import TemplateError, expand
from bot.cards.validation import validate_card
from bot.schema import Activity, Attachment
from bot.schema.json_document import JsonDocumentError, parse_json

TEMPLATE_FIELDS = ("template", "templateId", "data")
"""The attachment fields of a card given as template and data."""
TEMPLATE_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
"""A template id: the file name without ``.json``, lower case (no path can be named)."""
MAX_TEMPLATE_BYTES = 64 * 1024


class CardError(ValueError):
    """A card that cannot be sent: ``path`` is its JSON path from the activity."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.problem = message


def prepare_activity(activity: Activity) -> Activity:
    """``activity`` with its card templates expanded and every Adaptive Card validated.

    Returns:
        The activity itself when nothing was expanded, else a copy.

    Raises:
        CardError: A template that cannot be expanded, an unknown template id, or a card
            that is not a valid Adaptive Card 1.5 (the first problems, by path).
    """
    if not activity.attachments:
        return activity
    prepared: list[Attachment] = []
    changed = False
    for index, attachment in enumerate(activity.attachments):
        path = f"attachments[{index}]"
        extra = attachment.model_extra or {}
        if any(name in extra for name in TEMPLATE_FIELDS):
            attachment = _expanded(attachment, extra, path)
            changed = True
        if attachment.content_type == ADAPTIVE_CARD_CONTENT_TYPE:
            problems = validate_card(attachment.content)
            if problems:
                first = problems[0]
                message = "; ".join(
                    f"{path}.content{_dotted(problem.path)}: {problem.message}"
                    for problem in problems
                )
                raise CardError(f"{path}.content{_dotted(first.path)}", message)
        prepared.append(attachment)
    if not changed:
        return activity
    copy = activity.model_copy(deep=True)
    copy.attachments = prepared
    return copy


def _expanded(attachment: Attachment, extra: dict[str, Any], path: str) -> Attachment:
    if attachment.content_type != ADAPTIVE_CARD_CONTENT_TYPE:
        raise CardError(
            f"{path}.contentType", f"a template is only for {ADAPTIVE_CARD_CONTENT_TYPE}"
        )
    if attachment.content is not None:
        raise CardError(f"{path}.content", "give content or a template, not both")
    has_inline, has_id = "template" in extra, "templateId" in extra
    if has_inline == has_id:
        raise CardError(path, "give exactly one of template and templateId")
    if has_inline:
        template = extra["template"]
    else:
        template = load_template(extra["templateId"], f"{path}.templateId")
    try:
        content = expand(template, extra.get("data", {}))
    except TemplateError as error:
        where = f"{path}.template{_dotted(error.path)}" if has_inline else f"{path}.templateId"
        raise CardError(where, error.problem) from None
    wire = attachment.to_wire()
    for name in TEMPLATE_FIELDS:
        wire.pop(name, None)
    wire["content"] = content
    return Attachment.from_wire(wire)


def load_template(template_id: Any, path: str = "templateId") -> Any:
    """The template ``template_id`` names in the templates folder.

    Raises:
        CardError: Not a template id, or no such template.
    """
    if not isinstance(template_id, str) or not TEMPLATE_ID.fullmatch(template_id):
        raise CardError(path, "a template id is 1-64 of a-z 0-9 . _ - (the file name)")
    return _template(templates_folder(), template_id, path)


def templates_folder() -> Path:
    """The folder of card templates (``CARD_TEMPLATES_PATH``, relative to the app's root)."""
    from bot.settings import Settings, SettingsError, get_settings

    try:
        configured = get_settings().card_templates_path
    except SettingsError:
        # The producer's command line validates messages without the bot's settings.
        default = Settings.model_fields["card_templates_path"].default
        configured = os.environ.get("CARD_TEMPLATES_PATH") or str(default)
    folder = Path(configured)
    if not folder.is_absolute():
        folder = Path(__file__).resolve().parents[2] / folder
    return folder


@functools.lru_cache(maxsize=64)
def _template(folder: Path, template_id: str, path: str) -> Any:
    """A template file, read once per process (templates ship with the app)."""
    file = folder / f"{template_id}.json"
    if not file.is_file():
        raise CardError(path, f"no card template '{template_id}'")
    if file.stat().st_size > MAX_TEMPLATE_BYTES:
        raise CardError(path, f"card template '{template_id}' is over {MAX_TEMPLATE_BYTES} bytes")
    try:
        return parse_json(file.read_bytes())
    except JsonDocumentError as error:
        raise CardError(path, f"card template '{template_id}' is {error.message}") from None


def _dotted(path: str) -> str:
    if not path:
        return ""
    return path if path.startswith("[") else "." + path
