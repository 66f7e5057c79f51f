"""Azure Functions entry point: binds triggers to the ``bot`` package, nothing more.

HTTP routes receive activities and let services trigger sends, a timer runs the schedules, and
a queue trigger performs proactive sends. Each function only adapts its trigger and calls
``bot``; the logic, and its tests, live there.

Each function imports its handler when it first runs, not here: cold start is import time, and
an instance woken by the queue should not build the models of every HTTP route first. After
the first call the import is a dictionary lookup.
"""

import azure.functions as func

from bot.auth.api_callers import get_api_caller_settings
from bot.garbage_collection import tune_for_sending
from bot.http.caller_policy import CallerPolicyApp
from bot.samples.catalog import validate_sample
from bot.settings import get_settings
from bot.startup import check_startup

# Check at start-up, naming the setting, rather than at the first request: the settings, the
# management API's, and the chosen sample's configuration (the assistant's skills and event
# map). Locally a problem stops the host; in Azure every function still registers and says
# what is wrong (503 on every route, queue and timer invocations fail and retry): bot/startup.py.
startup_failure = check_startup(
    get_settings, get_api_caller_settings, lambda: validate_sample(get_settings().bot_sample)
)

# Every route but messages and health: the function key, and the caller policy (an Entra ID app
# role per action when PROACTIVE_API_AUDIENCE is set), applied by the app to each route.
app = CallerPolicyApp(http_auth_level=func.AuthLevel.FUNCTION, startup_failure=startup_failure)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    """State of Cosmos DB and the proactive queue: 200, or 503 when one is down."""
    from bot.http.health import health as handle

    return await handle(req)


@app.route(route="messages", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def messages(req: func.HttpRequest) -> func.HttpResponse:
    """Activities from the channel; Bot Framework JWT checked in code, not by a function key."""
    from bot.http.messages import messages as handle

    return await handle(req)


@app.route(route="references", methods=["GET"])
async def references(req: func.HttpRequest) -> func.HttpResponse:
    """The stored conversation reference of ``channelId`` + ``conversationId`` (read role)."""
    from bot.http.references import get_reference as handle

    return await handle(req)


@app.route(route="sendactivity", methods=["POST"])
async def send_activity(req: func.HttpRequest) -> func.HttpResponse:
    """Send activities to a stored conversation (send role)."""
    from bot.http.send import send_activity as handle

    return await handle(req)


@app.route(route="sendtoreference", methods=["POST"])
async def send_to_reference(req: func.HttpRequest) -> func.HttpResponse:
    """Send activities to a conversation reference (send role)."""
    from bot.http.send import send_to_reference as handle

    return await handle(req)


@app.route(route="deliveries/{id}", methods=["GET"])
async def delivery_receipt(req: func.HttpRequest) -> func.HttpResponse:
    """The receipt of a proactive send by its idempotency id (read role)."""
    from bot.http.deliveries import get_delivery as handle

    return await handle(req)


@app.route(route="deliveries/{id}", methods=["PATCH", "DELETE"])
async def delivery_edit(req: func.HttpRequest) -> func.HttpResponse:
    """Edit (PATCH) or recall (DELETE) what a delivery sent (send role)."""
    from bot.http.deliveries import edit_delivery as handle

    return await handle(req)


@app.queue_trigger(
    arg_name="msg", queue_name="%PROACTIVE_QUEUE_NAME%", connection="AzureWebJobsStorage"
)
async def proactive_sender(msg: func.QueueMessage) -> None:
    """One proactive queue message: deliver, defer, retry later, or poison with a reason."""
    from bot.app import handle_queue_message as handle

    await handle(msg)


@app.route(route="broadcasts", methods=["POST"])
async def broadcasts(req: func.HttpRequest) -> func.HttpResponse:
    """Send one message to an audience (202 ``operationId``), or count it (send role)."""
    from bot.http.broadcasts import start_broadcast as handle

    return await handle(req)


@app.route(route="broadcasts/{operationId}", methods=["GET"])
async def broadcast(req: func.HttpRequest) -> func.HttpResponse:
    """The progress of a broadcast: total, sent, failed, pending (read role)."""
    from bot.http.broadcasts import get_broadcast as handle

    return await handle(req)


@app.route(route="broadcasts/{operationId}", methods=["PATCH", "DELETE"])
async def broadcast_edit(req: func.HttpRequest) -> func.HttpResponse:
    """Edit (PATCH) or recall (DELETE) every recipient's message of a broadcast (send role)."""
    from bot.http.broadcasts import edit_broadcast as handle

    return await handle(req)


@app.route(route="broadcasts/{operationId}/cancel", methods=["POST"])
async def broadcast_cancel(req: func.HttpRequest) -> func.HttpResponse:
    """Cancel a running broadcast: pending recipients are not sent (send role)."""
    from bot.http.broadcasts import cancel_broadcast as handle

    return await handle(req)


@app.queue_trigger(
    arg_name="msg", queue_name="%PROACTIVE_QUEUE_NAME%-fanout", connection="AzureWebJobsStorage"
)
async def broadcast_fanout_page(msg: func.QueueMessage) -> None:
    """One page of a broadcast's audience: queue its recipients' messages, then the next page."""
    from bot.app import handle_fanout_message as handle

    await handle(msg)


@app.route(route="schedules", methods=["GET", "POST"])
async def schedules(req: func.HttpRequest) -> func.HttpResponse:
    """Create (POST) or list (GET) cron schedules of proactive messages (schedule role)."""
    from bot.http.schedules import schedules as handle

    return await handle(req)


@app.route(route="schedules/{id}", methods=["GET", "PATCH", "DELETE"])
async def schedule(req: func.HttpRequest) -> func.HttpResponse:
    """Read, change or delete one cron schedule (schedule role)."""
    from bot.http.schedules import schedule as handle

    return await handle(req)


@app.timer_trigger(schedule="%SCHEDULE_TIMER%", arg_name="timer", run_on_startup=False)
async def schedule_tick(timer: func.TimerRequest) -> None:
    """Enqueue the schedules' due occurrences, each exactly once."""
    from bot.app import run_schedule_tick as handle

    await handle()


# Last, when start-up has built what it keeps: fewer collections on the send path
# (bot/garbage_collection.py).
tune_for_sending()
