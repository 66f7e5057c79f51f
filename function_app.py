"""Azure Functions entry point: binds triggers to the ``bot`` package, nothing more.

HTTP routes receive activities and let services trigger sends, a timer runs the schedules, and
a queue trigger performs proactive sends. Each function only adapts its trigger and calls
``bot``; the logic, and its tests, live there.
"""

import azure.functions as func

from bot.auth.api_callers import get_api_caller_settings
from bot.http import deliveries as deliveries_route
from bot.http import health as health_route
from bot.http import messages as messages_route
from bot.http import references as references_route
from bot.http import schedules as schedules_route
from bot.http import send as send_route
from bot.proactive import queue_sender
from bot.schedules import tick as schedule_ticks
from bot.settings import get_settings

# Fail at start-up, naming the setting, rather than at the first request.
get_settings()
get_api_caller_settings()

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    """State of Cosmos DB and the proactive queue: 200, or 503 when one is down."""
    return await health_route.health(req)


@app.route(route="messages", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def messages(req: func.HttpRequest) -> func.HttpResponse:
    """Activities from the channel; Bot Framework JWT checked in code, not by a function key."""
    return await messages_route.messages(req)


@app.route(route="references", methods=["GET"])
async def references(req: func.HttpRequest) -> func.HttpResponse:
    """The stored conversation reference of ``channelId`` + ``conversationId`` (function key)."""
    return await references_route.get_reference(req)


@app.route(route="sendactivity", methods=["POST"])
async def send_activity(req: func.HttpRequest) -> func.HttpResponse:
    """Send activities to a stored conversation (function key, + Entra ID when configured)."""
    return await send_route.send_activity(req)


@app.route(route="sendtoreference", methods=["POST"])
async def send_to_reference(req: func.HttpRequest) -> func.HttpResponse:
    """Send activities to a conversation reference (function key, + Entra ID when configured)."""
    return await send_route.send_to_reference(req)


@app.route(route="deliveries/{id}", methods=["GET"])
async def delivery_receipt(req: func.HttpRequest) -> func.HttpResponse:
    """The receipt of a proactive send by its idempotency id (function key)."""
    return await deliveries_route.get_delivery(req)


@app.queue_trigger(
    arg_name="msg", queue_name="%PROACTIVE_QUEUE_NAME%", connection="AzureWebJobsStorage"
)
async def proactive_sender(msg: func.QueueMessage) -> None:
    """One proactive queue message: deliver, defer, retry later, or poison with a reason."""
    await queue_sender.handle_queue_message(msg)


@app.route(route="schedules", methods=["GET", "POST"])
async def schedules(req: func.HttpRequest) -> func.HttpResponse:
    """Create (POST) or list (GET) cron schedules of proactive messages (function key)."""
    return await schedules_route.schedules(req)


@app.route(route="schedules/{id}", methods=["GET", "PATCH", "DELETE"])
async def schedule(req: func.HttpRequest) -> func.HttpResponse:
    """Read, change or delete one cron schedule (function key)."""
    return await schedules_route.schedule(req)


@app.timer_trigger(schedule="%SCHEDULE_TIMER%", arg_name="timer", run_on_startup=False)
async def schedule_tick(timer: func.TimerRequest) -> None:
    """Enqueue the schedules' due occurrences, each exactly once."""
    await schedule_ticks.run_tick()
