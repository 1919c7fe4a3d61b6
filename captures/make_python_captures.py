#!/usr/bin/env python3
"""Records the Python-`websockets` sample captures of this folder on the loopback interface.

Needs: pip install websockets (17.x), dumpcap (Debian: tshark), root (to capture on lo).
Run from this folder: python3 make_python_captures.py
Each scenario runs a real websockets server and client on loopback while dumpcap records
only that scenario's port; the expected messages are printed so README.md can describe them.
"""
import asyncio
import os
import subprocess
import sys
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)


def record(path, host, port, scenario):
    cap = subprocess.Popen(
        ["dumpcap", "-q", "-P", "-B", "256", "-i", "lo", "-f", f"tcp port {port}", "-w", os.path.abspath(path)],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    try:
        asyncio.run(scenario(host, port))
    finally:
        time.sleep(0.5)
        cap.terminate()
        cap.wait()
    os.chmod(path, 0o644)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def deflate_context_takeover(host, port):
    """permessage-deflate with context takeover both ways; repeated text shrinks to a few
    bytes; a compressed message in fragments (RSV1 on the first only) ending in an empty
    frame; a compressed binary message; ping/pong; close 1001 with a reason."""
    async with serve(echo, host, port, compression="deflate"):
        async with connect(f"ws://{host}:{port}/chat", compression="deflate") as ws:
            line = "The quick brown fox jumps over the lazy dog. " * 8
            for i in range(3):
                await ws.send(f"{i}: {line}")
                await ws.recv()
            await ws.send(iter(["fragmented ", "compressed ", "message ", line]))
            await ws.recv()
            await ws.send(bytes(range(256)) * 16)
            await ws.recv()
            pong = await ws.ping(b"rtt-1")
            await pong
            await ws.close(1001, "client going away")


async def deflate_no_context_takeover(host, port):
    """permessage-deflate with server_/client_no_context_takeover and 10-bit windows."""
    server_ext = [ServerPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True,
        server_max_window_bits=10, client_max_window_bits=10)]
    client_ext = [ClientPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True,
        server_max_window_bits=10, client_max_window_bits=10)]
    async with serve(echo, host, port, extensions=server_ext, compression=None):
        async with connect(f"ws://{host}:{port}/nctx", extensions=client_ext, compression=None) as ws:
            for i in range(4):
                await ws.send("no context takeover, message %d " % i + "abcabcabc" * 20)
                await ws.recv()
            await ws.close(1000, "done")


async def large_frames_ipv6(host, port):
    """IPv6, port 443 without TLS, a 1 MiB masked client frame (64-bit length), a 70 000
    byte server frame, uncompressed fragments ending in an empty frame, close 4000."""
    async def handler(ws):
        async for message in ws:
            if isinstance(message, bytes):
                await ws.send(message[:70000])
            else:
                await ws.send(iter(["echo: ", message[:20], ""]))
    async with serve(handler, host, port, compression=None, max_size=None):
        async with connect(f"ws://[{host}]:{port}/big", compression=None, max_size=None) as ws:
            await ws.send(bytes((i * 7) % 256 for i in range(1 << 20)))
            await ws.recv()
            await ws.send("hello over IPv6")
            await ws.recv()
            await ws.close(4000, "private close code")


GREETINGS = [
    ("ja", "こんにちは、世界。日本語のメッセージです"),
    ("zh", "你好，世界。这是中文消息"),
    ("ko", "안녕하세요, 세계"),
    ("ru", "Привет, мир! Сообщение по-русски"),
    ("ar", "مرحبا بالعالم"),
    ("he", "שלום עולם"),
    ("hi", "नमस्ते दुनिया"),
    ("el", "Γειά σου κόσμε"),
    ("emoji", "ok ✓ done 🎉🚀 status ⚠"),
    ("mixed", "price: 1 200 ₽ / ¥980 / €9,50"),
]


async def many_connections_scripts(host, port):
    """Twelve concurrent connections to a small room server (JSON text in ten scripts and
    emoji, a binary blob, pings), each closing with its own code: a capture to look at many
    connections and non-Latin text in the window."""
    import json

    from websockets.exceptions import ConnectionClosed

    async def room(ws):
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    await ws.send(message[::-1])
                    continue
                m = json.loads(message)
                await ws.send(json.dumps({"type": "ack", "lang": m["lang"], "echo": m["text"]}, ensure_ascii=False))
        except ConnectionClosed:
            pass  # private close codes end the iteration with an exception

    async def client(i):
        lang, text = GREETINGS[i % len(GREETINGS)]
        async with connect(f"ws://{host}:{port}/room/{i}", compression=None) as ws:
            for k in range(3):
                await ws.send(json.dumps({"type": "say", "lang": lang, "n": k, "text": text}, ensure_ascii=False))
                await ws.recv()
                await asyncio.sleep(0.05 * (i % 4))
            if i % 3 == 0:
                await ws.send(bytes(range(64)))
                await ws.recv()
            pong = await ws.ping(f"rtt-{i}".encode())
            await pong
            await ws.close(1000 if i % 2 == 0 else 4000 + i, f"bye {text[:6]}")

    async with serve(room, host, port, compression=None):
        await asyncio.gather(*(client(i) for i in range(12)))


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root (capturing on lo needs CAP_NET_RAW)")
    record("python-deflate-context-takeover.pcap", "127.0.0.1", 8765, deflate_context_takeover)
    record("python-deflate-no-context-takeover.pcap", "127.0.0.1", 9001, deflate_no_context_takeover)
    record("python-ipv6-port443-large-frames.pcap", "::1", 443, large_frames_ipv6)
    record("python-many-connections-scripts.pcap", "127.0.0.1", 8766, many_connections_scripts)
