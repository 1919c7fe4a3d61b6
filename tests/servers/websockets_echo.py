#!/usr/bin/env python3
"""Python `websockets` echo server (the third-party library, default settings) on 127.0.0.1.
Usage: websockets_echo.py PORT. Prints "listening PORT" once ready."""
import asyncio, sys
from websockets.asyncio.server import serve


async def echo(ws):
    async for m in ws:
        await ws.send(m)


async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), max_size=20 * 1024 * 1024) as server:
        print("listening", list(server.sockets)[0].getsockname()[1], flush=True)
        await server.serve_forever()

asyncio.run(main())
