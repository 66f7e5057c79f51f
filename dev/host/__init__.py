"""A local Azure Functions host for the Python v2 programming model (development only).

Azure Functions Core Tools cannot be installed everywhere, so ``python -m dev.host`` runs
``function_app.py`` with the semantics of the real host, for the triggers this project uses:

- Start-up: ``local.settings.json`` ``Values`` (or the file named by ``LOCAL_SETTINGS_PATH``)
  go into the environment without overriding it; ``host.json`` is read; ``function_app`` is
  imported from the app folder and its functions are indexed. An unsupported trigger,
  binding, route constraint or a missing ``%SETTING%`` stops the start with a clear message.
- HTTP (:mod:`dev.host.http_server`, :mod:`dev.host.routes`): ``127.0.0.1``, port
  ``--port`` or ``FUNCTIONS_HTTP_PORT`` (7071), routes under the host.json route prefix
  (``api``). Errors are ``{"error": {"code", "message"}}``; a failing function is a 500 with no
  stack trace. ``GET /admin/host/status`` says when the host is ready.
- Auth levels: as under ``func start``, function and admin keys are NOT enforced locally;
  every route is reachable without a key. Do not expose this host beyond loopback.
- Timers (:mod:`dev.host.timers`): NCRONTAB schedules (:mod:`bot.cron`), no overlapping runs,
  ``run_on_startup``.
- Queues (:mod:`dev.host.queues`): polling, retries and the poison queue as configured in
  host.json ``extensions.queues``; a fetched message's lease (:mod:`dev.host.message_lease`,
  ``--queue-lease-seconds``, 600 s) is renewed at half of it while its function runs.
- Logs: one ``Executing``/``Executed`` line per invocation, never bodies, headers or message
  contents. SIGINT/SIGTERM stop polling, let running invocations finish (bounded), exit 0.

Not supported (use Core Tools): other triggers and bindings, function keys, ``functionTimeout``,
identity-based storage connections.
"""
