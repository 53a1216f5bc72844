"""``/live``: Server-Sent Events, one ``alert`` event each time a story is recorded or grows."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from monitor.desk.context import DeskContext
from monitor.streams import as_text, decode_fields

_STREAM_ID = re.compile(r"^(\$|\d+-\d+)$")
BLOCK_MS = 1000
KEEPALIVE_EVERY = 15


async def live(ctx: DeskContext, request: web.Request) -> web.StreamResponse:
    """Stream story updates after ``after`` (a stream id, ``$``: now) until the client leaves."""
    after = request.query.get("after", "$")
    if not _STREAM_ID.match(after):
        raise web.HTTPBadRequest(text="after must be a stream id or $")
    if after == "$":
        # Resolve "now" once, so nothing recorded between two reads is missed.
        last = await ctx.client.xrevrange(ctx.keys.history_updates, count=1)
        after = as_text(last[0][0]) if last else "0-0"
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})  # fmt: skip
    await response.prepare(request)
    idle = 0
    try:
        while True:
            try:
                reply: Any = await ctx.client.xread(
                    {ctx.keys.history_updates: after}, block=BLOCK_MS, count=100
                )
            except RedisError:
                await asyncio.sleep(1)
                continue
            for _stream, messages in reply or ():
                for message_id, fields in messages:
                    after = as_text(message_id)
                    story = decode_fields(fields).get("story", "")
                    data = json.dumps({"story": story})
                    await response.write(f"id: {after}\nevent: alert\ndata: {data}\n\n".encode())
            idle = 0 if reply else idle + 1
            if idle >= KEEPALIVE_EVERY:
                await response.write(b": keep-alive\n\n")
                idle = 0
    except ConnectionResetError:
        pass  # the client left
    return response
