#!/usr/bin/env python3
"""A Python `websockets` client (the third-party library, default settings) for testing
`framescope probe --serve` over TLS. Usage: wss_client.py URL CA.pem SERVER_NAME N
Connects N times, one after the other, trusting CA.pem and checking SERVER_NAME; each time it
reads until the connection ends (the library answers pings and closes, and fails the
connection on protocol errors), then prints "CONN i CODE" (the close code it sent, or -)."""
import asyncio, ssl, sys
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def one(url, context, name):
    # The probe may not be listening yet: retry for up to 10 s (a TLS error is not retried).
    for _ in range(100):
        try:
            ws = await connect(url, ssl=context, server_hostname=name, open_timeout=5)
            break
        except ConnectionRefusedError:
            await asyncio.sleep(0.1)
    else:
        return "no-connection"
    try:
        async with asyncio.timeout(10):
            async for _ in ws:
                pass
    except (ConnectionClosed, TimeoutError):
        pass
    await ws.close()
    sent = ws.protocol.close_sent
    return str(sent.code) if sent else "-"


async def main():
    url, ca, name, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    context = ssl.create_default_context(cafile=ca)
    for i in range(n):
        print("CONN", i, await one(url, context, name), flush=True)

asyncio.run(main())
