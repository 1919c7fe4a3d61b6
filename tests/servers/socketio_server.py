#!/usr/bin/env python3
"""A python-socketio server (aiohttp) for tests/app_send_servers.rs.

    python3 socketio_server.py

Prints "PORT <n>" once it listens on 127.0.0.1 (a free port), then one JSON line per event
it received: {"nsp": N, "event": E, "args": [...]}. Every event is acknowledged with
["got", E, args...], so a client that asked for an ack gets one.
"""
import asyncio
import json
import socket
import sys

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp")
app = web.Application()
sio.attach(app)


def handler(nsp):
    async def on_any(event, sid, *args):
        print(json.dumps({"nsp": nsp, "event": event, "args": list(args)}), flush=True)
        return ["got", event, *args]

    return on_any


for nsp in ("/", "/chat"):
    sio.on("*", handler(nsp), namespace=nsp)
    sio.on("connect", lambda sid, environ, auth=None: True, namespace=nsp)


async def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    # Runs until the test kills it; bounded by the test's own timeout otherwise.
    await asyncio.sleep(120)


asyncio.run(main())
