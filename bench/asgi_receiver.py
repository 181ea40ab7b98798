"""The headline receiver of the benchmark: what a Python team deploys at its cheapest, one
uvicorn process running a minimal ASGI app that reads the body and answers 200.

Besides that it counts the webhook requests and their distinct `webhook-id`s (GET /stats,
POST /reset), and POST /slow answers after 2 s (the API-call step's slow endpoints).
Run: python -m uvicorn asgi_receiver:app --app-dir bench --port PORT
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

SLOW_SECONDS = 2.0
_state: dict[str, Any] = {"count": 0, "ids": set(), "first": 0.0, "last": 0.0}


async def _answer(send, body: bytes, content_type: bytes = b"text/plain") -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the whole body, as any receiver must
        message = await receive()
        more = message.get("more_body", False)
    path = scope["path"]
    if path == "/stats":
        stats = {k: v for k, v in _state.items() if k != "ids"}
        stats["unique"] = len(_state["ids"])
        await _answer(send, json.dumps(stats).encode(), b"application/json")
        return
    if path == "/reset":
        _state.update(count=0, ids=set(), first=0.0, last=0.0)
    elif path == "/slow":
        await asyncio.sleep(SLOW_SECONDS)
    else:
        now = time.time()
        _state["count"] += 1
        _state["first"] = _state["first"] or now
        _state["last"] = now
        for name, value in scope["headers"]:
            if name == b"webhook-id":
                _state["ids"].add(value)
                break
    await _answer(send, b"ok")
