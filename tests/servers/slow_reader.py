"""A WebSocket server that does not read for a second, with a small receive buffer, and a
client that sends 16 x 128 KiB meanwhile: the server's kernel advertises a zero window.
Usage: slow_reader.py PORT. Prints "received N messages"."""
import asyncio
import socket
import sys

import websockets

PORT = int(sys.argv[1])
COUNT = 16
SIZE = 128 * 1024


async def handler(ws):
    await asyncio.sleep(1.0)
    n = 0
    async for _ in ws:
        n += 1
        if n == COUNT:
            break
    print(f"received {n} messages", flush=True)
    await ws.close()


async def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Set before listen(): accepted sockets inherit it, and the window scale is chosen from it.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.bind(("127.0.0.1", PORT))
    sock.listen()
    # max_queue=1 and a small read limit: the library stops reading from the socket too.
    async with websockets.serve(handler, sock=sock, max_queue=1, max_size=None, compression=None):
        async with websockets.connect(f"ws://127.0.0.1:{PORT}", max_size=None, compression=None) as ws:
            for i in range(COUNT):
                await ws.send(bytes([i]) * SIZE)
            await ws.wait_closed()


asyncio.run(asyncio.wait_for(main(), 30))
