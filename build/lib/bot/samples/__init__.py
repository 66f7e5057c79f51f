"""Sample bots: small, complete bots that show how the pieces fit.

* ``echo`` (:class:`bot.samples.echo.EchoBot`): welcomes, schedule commands, echoes;
* ``counter`` (:class:`bot.samples.counter.CounterBot`): numbers messages in conversation
  state, with a confirmed "reset" (dialogs and a yes/no prompt);
* ``assistant`` (:class:`bot.samples.assistant.Assistant`): skills from configuration.

Counter and assistant need :class:`~bot.state.BotStateMiddleware` on the adapter.
"""

from bot.samples.catalog import SAMPLES, create_sample

__all__ = ["SAMPLES", "create_sample"]
