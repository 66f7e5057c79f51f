"""HTTP route handlers: each takes an ``azure.functions.HttpRequest`` and answers JSON."""
