#!/usr/bin/env python3
"""MQTT over WebSocket in front of Mosquitto's plain TCP listener, for tests/app_send_servers.rs.

    python3 mqtt_ws_relay.py BROKER_PORT

Debian 12's mosquitto 2.0.11 will not start a websockets listener here ("Unable to start any
listening sockets"), so this relay (Python `websockets`, subprotocol `mqtt`) carries each
binary message to Mosquitto as bytes and each TCP read back as one binary message: every
answer is Mosquitto's own. Prints "PORT <n>" once it listens on 127.0.0.1.
"""
import asyncio
import sys

from websockets.asyncio.server import serve

BROKER = int(sys.argv[1])


async def relay(ws):
    reader, writer = await asyncio.open_connection("127.0.0.1", BROKER)

    async def up():
        async for message in ws:
            writer.write(message if isinstance(message, bytes) else message.encode())
            await writer.drain()
        writer.close()

    async def down():
        while data := await reader.read(65536):
            await ws.send(data)
        await ws.close()

    await asyncio.gather(up(), down(), return_exceptions=True)


async def main():
    async with serve(relay, "127.0.0.1", 0, subprotocols=["mqtt"]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"PORT {port}", flush=True)
        await asyncio.sleep(120)


asyncio.run(main())
