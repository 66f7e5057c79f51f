"""Middleware: code that runs around every turn, in order, like the layers of an onion.

Each middleware runs its code before ``await next()``, the rest of the pipeline (later
middleware, then the bot) runs inside that call, and its code after ``next()`` runs on the
way out. Not calling ``next()`` ends the turn there: later middleware and the bot never run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol, Self, runtime_checkable

from bot.turn.context import TurnContext

NextStep = Callable[[], Awaitable[None]]
"""Runs the rest of the pipeline."""
TurnLogic = Callable[[TurnContext], Awaitable[None]]
"""The bot's turn handler, run after all middleware (for example ``ActivityHandler.on_turn``)."""
MiddlewareFunction = Callable[[TurnContext, NextStep], Awaitable[None]]
"""A plain ``async def middleware(context, next)`` function."""


@runtime_checkable
class Middleware(Protocol):
    """An object that takes part in every turn."""

    async def on_turn(self, context: TurnContext, next: NextStep, /) -> None:
        """Run around the rest of the turn; call ``await next()`` to continue it."""
        ...


class MiddlewareSet:
    """An ordered pipeline of middleware; itself a middleware, so sets nest.

    Args:
        *middleware: Middleware objects or functions, outermost first.
    """

    def __init__(self, *middleware: Middleware | MiddlewareFunction) -> None:
        self._middleware: list[Middleware | MiddlewareFunction] = list(middleware)

    def use(self, *middleware: Middleware | MiddlewareFunction) -> Self:
        """Append middleware; it runs inside what was added before. Returns the set."""
        self._middleware.extend(middleware)
        return self

    def __len__(self) -> int:
        return len(self._middleware)

    def __iter__(self) -> Iterator[Middleware | MiddlewareFunction]:
        return iter(tuple(self._middleware))

    async def on_turn(self, context: TurnContext, next: NextStep, /) -> None:
        """Run this set as one middleware of an outer pipeline."""

        async def continue_outer(_: TurnContext) -> None:
            await next()

        await self.run(context, continue_outer)

    async def run(self, context: TurnContext, logic: TurnLogic | None = None) -> None:
        """Run every middleware in order, then ``logic`` (unless a middleware stopped).

        Args:
            context: The turn.
            logic: What runs innermost; nothing when ``None``.

        Raises:
            RuntimeError: A middleware called ``next()`` twice.
        """
        chain = tuple(self._middleware)
        if not chain:
            # A proactive send's adapter usually has no middleware: no closures to build.
            if logic is not None:
                await logic(context)
            return

        async def step(index: int) -> None:
            if index == len(chain):
                if logic is not None:
                    await logic(context)
                return
            called = False

            async def next_step() -> None:
                nonlocal called
                if called:
                    raise RuntimeError("a middleware called next() twice in one turn")
                called = True
                await step(index + 1)

            await _call(chain[index], context, next_step)

        await step(0)


async def _call(
    middleware: Middleware | MiddlewareFunction, context: TurnContext, next_step: NextStep
) -> None:
    if isinstance(middleware, Middleware):
        await middleware.on_turn(context, next_step)
    else:
        await middleware(context, next_step)
