#!/usr/bin/env python3
"""Records `mitmproxy-websockets.har`: a real WebSocket session through mitmproxy's HAR export.

Needs: pip install websockets (17.x) mitmproxy (11.x). No root.
Run from this folder: python3 make_har_captures.py
A Python `websockets` server listens on 127.0.0.1; `mitmdump` runs as a reverse proxy in
front of it with `--set hardump=…` (mitmproxy's HAR export, which writes Chrome's
`_webSocketMessages`); a `websockets` client talks to the server through the proxy. The HAR
is written when mitmdump stops. The messages exchanged are printed for README.md.
"""
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def server_handler(ws):
    async for message in ws:
        if isinstance(message, bytes):
            await ws.send(bytes(reversed(message)))
        elif message == "bye":
            await ws.send(json.dumps({"type": "goodbye", "items": [{"id": 1}, {"id": 7}]}))
            await ws.close(4000, "done here")
            return
        else:
            await ws.send(json.dumps({"type": "echo", "text": message, "len": len(message)}))


async def client(port):
    async with connect(f"ws://127.0.0.1:{port}/chat?room=7", subprotocols=["chat.v1"]) as ws:
        for text in ["hello", json.dumps({"type": "order.paid", "items": [{"id": 2}, {"id": 5}]}), "héllo ✓"]:
            await ws.send(text)
            print("sent", text, "got", await ws.recv())
        await ws.send(b"\x00\x01\x02\xff")
        print("sent binary, got", (await ws.recv()).hex())
        await ws.send("bye")
        print("got", await ws.recv())
        try:
            await ws.recv()
        except Exception as e:  # the server's close
            print("closed:", e)


async def main(out):
    ws_port, proxy_port = free_port(), free_port()

    async def serve_until_done(stop):
        async with serve(server_handler, "127.0.0.1", ws_port, subprotocols=["chat.v1"]):
            await stop

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    server = asyncio.create_task(serve_until_done(stop))
    proxy = subprocess.Popen(
        [
            "mitmdump",
            "--mode", f"reverse:http://127.0.0.1:{ws_port}",
            "--listen-host", "127.0.0.1",
            "--listen-port", str(proxy_port),
            "--set", f"hardump={os.path.abspath(out)}",
            "-q",
        ]
    )
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", proxy_port), timeout=0.1):
                    break
            except OSError:
                time.sleep(0.1)
        await asyncio.wait_for(client(proxy_port), 20)
        await asyncio.sleep(0.5)
    finally:
        proxy.send_signal(signal.SIGINT)
        proxy.wait(timeout=20)
        stop.set_result(None)
        await server
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "mitmproxy-websockets.har"))
