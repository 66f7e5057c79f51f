"""Sample bots: small, complete bots that show how the pieces fit.

* ``echo`` (:class:`bot.samples.echo.EchoBot`): welcomes and echoes;
* ``counter`` (:class:`CounterBot`): numbers messages in conversation state, with a
  confirmed "reset" (dialogs and a yes/no prompt).

The counter needs :class:`~bot.state.BotStateMiddleware` on the adapter.
"""

from bot.samples.catalog import SAMPLES, create_sample
from bot.samples.counter import CounterBot, counter_dialogs

__all__ = ["SAMPLES", "CounterBot", "counter_dialogs", "create_sample"]
