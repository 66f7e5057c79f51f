"""Azure Functions entry point: binds triggers to the ``bot`` package, nothing more.

HTTP routes receive activities and let services trigger sends, a timer runs the schedules, and
a queue trigger performs proactive sends. Each function only adapts its trigger and calls
``bot``; the logic, and its tests, live there.
"""

import azure.functions as func

from bot.http import health as health_route
from bot.http import messages as messages_route
from bot.settings import get_settings

# Fail at start-up, naming the setting, rather than at the first request.
get_settings()

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    """State of Cosmos DB and the proactive queue: 200, or 503 when one is down."""
    return await health_route.health(req)


@app.route(route="messages", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def messages(req: func.HttpRequest) -> func.HttpResponse:
    """Activities from the channel; Bot Framework JWT checked in code, not by a function key."""
    return await messages_route.messages(req)
