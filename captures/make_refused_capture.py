#!/usr/bin/env python3
"""Records refused and unanswered connection attempts on the loopback interface, then the
connection that finally works: refused-then-connected.pcap, and beside it
refused-then-connected.peers.json (what the client tried, when, from which port; the tests
compare framescope's `flow` records with it).

A Python `websockets` client:
1. tries ws://127.0.0.1:P/ three times with nothing listening on P (each from a new
   ephemeral port: the kernel answers each SYN with a RST);
2. tries twice more from one fixed client port L (the same four-tuple refused twice);
3. tries port Q, where a server listens with a full accept queue (backlog 0, one
   connection queued and never accepted): Linux drops the SYNs, the client retransmits
   once and gives up after 2.5 s (open_timeout), sending nothing more;
4. the echo server comes up on P; the client connects, sends one text message, reads the
   echo and closes.
Needs: pip install websockets (17.x), dumpcap (Debian: tshark), root (to capture on lo).
Run from this folder: python3 make_refused_capture.py [--out DIR]
"""
import asyncio
import json
import os
import socket
import subprocess
import sys
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "refused-then-connected"
MESSAGE = "hello after five refusals"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def attempt(log, kind, port, **kwargs):
    """One connection attempt that is expected to fail; logs its time, ports and error."""
    entry = {"kind": kind, "server_port": port, "ts": time.time()}
    try:
        async with connect(f"ws://127.0.0.1:{port}/", **kwargs):
            entry["error"] = None
    except (OSError, TimeoutError) as e:
        entry["error"] = type(e).__name__
    entry["end_ts"] = time.time()
    if "local_addr" in kwargs:
        entry["client_port"] = kwargs["local_addr"][1]
    log["attempts"].append(entry)


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def scenario(dead, full, fixed, log):
    for _ in range(3):
        await attempt(log, "refused", dead)
        await asyncio.sleep(0.2)
    for _ in range(2):
        await attempt(log, "refused", dead, local_addr=("127.0.0.1", fixed))
        await asyncio.sleep(0.2)
    # A listener whose accept queue is full: its SYNs go unanswered.
    listener = socket.socket()
    listener.bind(("127.0.0.1", full))
    listener.listen(0)
    filler = socket.create_connection(("127.0.0.1", full))
    await asyncio.sleep(0.2)
    await attempt(log, "no-answer", full, open_timeout=2.5)
    filler.close()
    listener.close()
    await asyncio.sleep(0.2)
    async with serve(echo, "127.0.0.1", dead):
        connected = {"ts": time.time()}
        async with connect(f"ws://127.0.0.1:{dead}/") as ws:
            connected["client_port"] = ws.local_address[1]
            await ws.send(MESSAGE)
            connected["echo"] = await ws.recv()
            await ws.close(1000, "done")
        log["connected"] = connected


def main():
    args = sys.argv[1:]
    out = args[1] if args[:1] == ["--out"] and len(args) > 1 else HERE
    pcap = os.path.join(out, f"{NAME}.pcap")
    peers = os.path.join(out, f"{NAME}.peers.json")
    for p in (pcap, peers):
        if os.path.exists(p):
            os.remove(p)
    dead, full, fixed = free_port(), free_port(), free_port()
    log = {"dead_port": dead, "full_port": full, "fixed_client_port": fixed, "message": MESSAGE, "attempts": []}
    cap = subprocess.Popen(
        ["dumpcap", "-q", "-P", "-B", "256", "-i", "lo", "-f", f"tcp port {dead} or tcp port {full}", "-w", pcap],
        stderr=subprocess.DEVNULL,
    )
    # dumpcap writes the file's header once it captures; the first SYN must not come sooner.
    deadline = time.time() + 10
    while not os.path.exists(pcap) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    try:
        asyncio.run(scenario(dead, full, fixed, log))
    finally:
        time.sleep(0.5)
        cap.terminate()
        cap.wait()
    with open(peers, "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")
    for p in (pcap, peers):
        os.chmod(p, 0o644)
    for a in log["attempts"]:
        print(f"  {a['kind']} :{a['server_port']} from {a.get('client_port', 'an ephemeral port')}: {a['error']}")
    print(f"  connected from {log['connected']['client_port']}: echo {log['connected']['echo']!r}")
    print(f"wrote {pcap} ({os.path.getsize(pcap)} bytes)")


if __name__ == "__main__":
    main()
