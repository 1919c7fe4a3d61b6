#!/usr/bin/env python3
"""Python `websockets` echo server (the third-party library, default settings) on 127.0.0.1.
Usage: websockets_echo.py PORT [--tls CERT.pem KEY.pem]. With --tls it serves wss://.
Prints "listening PORT" once ready."""
import asyncio, ssl, sys
from websockets.asyncio.server import serve


async def echo(ws):
    async for m in ws:
        await ws.send(m)


def tls_context():
    if "--tls" not in sys.argv:
        return None
    at = sys.argv.index("--tls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[at + 1], sys.argv[at + 2])
    return context


async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), max_size=20 * 1024 * 1024, ssl=tls_context()) as server:
        print("listening", list(server.sockets)[0].getsockname()[1], flush=True)
        await server.serve_forever()

asyncio.run(main())
