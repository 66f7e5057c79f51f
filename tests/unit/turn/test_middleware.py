"""Middleware: onion order, short-circuit, nesting."""

from __future__ import annotations

import pytest

from bot.turn import InMemorySender, MiddlewareSet, NextStep, TurnContext
from tests.unit.turn.builders import ActivityFactory


class Recorder:
    """A middleware object that logs when it runs, before and after the rest."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def on_turn(self, context: TurnContext, next_step: NextStep) -> None:
        self.log.append(f"{self.name}:before")
        await next_step()
        self.log.append(f"{self.name}:after")


class ShortCircuit:
    """A middleware object that ends the turn without calling next."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def on_turn(self, context: TurnContext, next_step: NextStep) -> None:
        self.log.append("stop")


@pytest.fixture
def context(make_activity: ActivityFactory, sender: InMemorySender) -> TurnContext:
    return TurnContext(make_activity(), sender)


class TestMiddlewareSet:
    async def test_onion_order(self, context: TurnContext) -> None:
        log: list[str] = []

        async def bot(ctx: TurnContext) -> None:
            log.append("bot")

        pipeline = MiddlewareSet(Recorder("a", log), Recorder("b", log)).use(Recorder("c", log))
        await pipeline.run(context, bot)
        assert log == ["a:before", "b:before", "c:before", "bot", "c:after", "b:after", "a:after"]

    async def test_not_calling_next_short_circuits(self, context: TurnContext) -> None:
        log: list[str] = []

        async def bot(ctx: TurnContext) -> None:
            log.append("bot")

        pipeline = MiddlewareSet(Recorder("a", log), ShortCircuit(log), Recorder("c", log))
        await pipeline.run(context, bot)
        assert log == ["a:before", "stop", "a:after"]

    async def test_plain_functions_are_middleware(self, context: TurnContext) -> None:
        log: list[str] = []

        async def function(ctx: TurnContext, next_step: NextStep) -> None:
            log.append("function:before")
            await next_step()
            log.append("function:after")

        async def bot(ctx: TurnContext) -> None:
            log.append("bot")

        await MiddlewareSet(function, Recorder("obj", log)).run(context, bot)
        assert log == ["function:before", "obj:before", "bot", "obj:after", "function:after"]

    async def test_sets_nest(self, context: TurnContext) -> None:
        log: list[str] = []

        async def bot(ctx: TurnContext) -> None:
            log.append("bot")

        inner = MiddlewareSet(Recorder("inner1", log), Recorder("inner2", log))
        outer = MiddlewareSet(Recorder("outer", log), inner, Recorder("last", log))
        await outer.run(context, bot)
        assert log == [
            "outer:before",
            "inner1:before",
            "inner2:before",
            "last:before",
            "bot",
            "last:after",
            "inner2:after",
            "inner1:after",
            "outer:after",
        ]

    async def test_a_short_circuit_inside_a_nested_set_stops_the_outer_pipeline(
        self, context: TurnContext
    ) -> None:
        log: list[str] = []

        async def bot(ctx: TurnContext) -> None:
            log.append("bot")

        outer = MiddlewareSet(MiddlewareSet(ShortCircuit(log)), Recorder("after", log))
        await outer.run(context, bot)
        assert log == ["stop"]

    async def test_middleware_can_share_state_with_the_bot(self, context: TurnContext) -> None:
        from bot.turn import StateKey

        started = StateKey[str]("started")
        seen: list[str | None] = []

        async def mark(ctx: TurnContext, next_step: NextStep) -> None:
            ctx.state[started] = "yes"
            await next_step()

        async def bot(ctx: TurnContext) -> None:
            seen.append(ctx.state.get(started))

        await MiddlewareSet(mark).run(context, bot)
        assert seen == ["yes"]

    async def test_exceptions_unwind_through_middleware(self, context: TurnContext) -> None:
        log: list[str] = []

        async def guard(ctx: TurnContext, next_step: NextStep) -> None:
            try:
                await next_step()
            except ValueError:
                log.append("caught")
                raise

        async def bot(ctx: TurnContext) -> None:
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            await MiddlewareSet(guard).run(context, bot)
        assert log == ["caught"]

    async def test_calling_next_twice_is_an_error(self, context: TurnContext) -> None:
        runs: list[str] = []

        async def twice(ctx: TurnContext, next_step: NextStep) -> None:
            await next_step()
            await next_step()

        async def bot(ctx: TurnContext) -> None:
            runs.append("bot")

        with pytest.raises(RuntimeError, match="twice"):
            await MiddlewareSet(twice).run(context, bot)
        assert runs == ["bot"]

    async def test_an_empty_set_runs_the_logic(self, context: TurnContext) -> None:
        runs: list[str] = []

        async def bot(ctx: TurnContext) -> None:
            runs.append("bot")

        pipeline = MiddlewareSet()
        await pipeline.run(context, bot)
        assert runs == ["bot"]
        assert len(pipeline) == 0
