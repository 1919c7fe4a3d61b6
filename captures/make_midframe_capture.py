#!/usr/bin/env python3
"""Records a capture that starts in the middle of a 512 KiB client frame and a 1 MiB server
frame (issue 14 item 3), with Python websockets on both ends, in a network namespace of its
own whose `lo` is rate-limited with `tc ... tbf` (the host's `lo` is never touched).

    sudo python3 make_midframe_capture.py OUT.pcap OUT.json

OUT.json logs what each peer sent, in order (type, length, sha256), and when tcpdump began
listening: the test compares the decoded messages with it. Needs root, `ip`, `tc`,
`tcpdump` and `pip install websockets`. Exits 3 when a network namespace cannot be made.
"""
import asyncio
import hashlib
import json
import os
import random
import subprocess
import sys
import time

RATE = "8mbit"
PORT = 9417


def payload(kind, n, seed):
    rnd = random.Random(seed)
    if kind == "binary":
        return rnd.randbytes(n)
    words = ["frame", "boundary", "tail", "WebSocket", "ünïcødé", "日本語", "✓", "mid-stream"]
    out, size = [], 0
    while size < n:
        w = rnd.choice(words)
        out.append(w)
        size += len(w.encode()) + 1
    return " ".join(out).encode()[:n].decode("utf-8", "ignore")


def entry(data, t):
    raw = data.encode() if isinstance(data, str) else data
    return {
        "type": "text" if isinstance(data, str) else "binary",
        "len": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "t": t,
    }


async def inside(pcap, log_path):
    import websockets.asyncio.client as wsc
    import websockets.asyncio.server as wss

    log = {"c2s": [], "s2c": []}
    t0 = time.monotonic()
    capture = {}

    # Each side's messages: a big frame already in flight when the capture starts, then
    # later ones that must decode exactly. Every message is acknowledged by the receiver
    # before the sender sends the next, so frames end where the sender's queue drains.
    client_msgs = [payload("binary", 512 << 10, 1), payload("text", 96 << 10, 2), "client done"]
    server_msgs = [payload("text", 1 << 20, 3), payload("binary", 128 << 10, 4), "server done"]

    async def run_side(ws, msgs, dirname, ackname, start_delay):
        await asyncio.sleep(start_delay)
        for i, m in enumerate(msgs):
            log[dirname].append(entry(m, time.monotonic() - t0))
            await ws.send(m)
            if i == 0:
                capture["first_sent_" + dirname] = time.monotonic() - t0
            ack = await acks[ackname].get()
            assert ack == f"ack {i}", ack

    acks = {"client": asyncio.Queue(), "server": asyncio.Queue()}

    async def receive(ws, my_name, their_dir, ack_dir):
        # Messages from the peer: acknowledge data, pass acks to our sender.
        async for m in ws:
            if isinstance(m, str) and m.startswith("ack "):
                await acks[my_name].put(m)
                continue
            count = capture.setdefault("received_" + their_dir, 0)
            capture["received_" + their_dir] = count + 1
            capture.setdefault("received_at_" + their_dir, []).append(time.monotonic() - t0)
            reply = f"ack {count}"
            log[ack_dir].append(entry(reply, time.monotonic() - t0))
            await ws.send(reply)

    done = asyncio.Event()

    async def handler(ws):
        recv = asyncio.create_task(receive(ws, "server", "c2s", "s2c"))
        await run_side(ws, server_msgs, "s2c", "server", 0.0)
        await done.wait()
        recv.cancel()

    async with wss.serve(handler, "127.0.0.1", PORT, max_size=None, compression=None):
        async with wsc.connect(f"ws://127.0.0.1:{PORT}/midframe", max_size=None, compression=None) as ws:
            recv = asyncio.create_task(receive(ws, "client", "s2c", "c2s"))
            # The server starts its 1 MiB at once, the client its 512 KiB a little later, so
            # that both frames are in flight together; the capture starts during both.
            sender = asyncio.create_task(run_side(ws, client_msgs, "c2s", "client", 0.35))
            await asyncio.sleep(1.0)
            dump = subprocess.Popen(
                ["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", pcap, "tcp port %d" % PORT],
                stderr=subprocess.PIPE,
            )
            line = dump.stderr.readline().decode()
            capture["listening"] = time.monotonic() - t0
            capture["tcpdump"] = line.strip()
            await sender
            while capture.get("received_s2c", 0) < len(server_msgs):
                await asyncio.sleep(0.05)
            done.set()
            recv.cancel()
        await asyncio.sleep(0.3)
    await asyncio.sleep(0.5)
    dump.send_signal(2)
    dump.wait(timeout=10)
    log["capture"] = capture
    with open(log_path, "w") as f:
        json.dump(log, f, indent=1)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--inside":
        asyncio.run(inside(sys.argv[2], sys.argv[3]))
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pcap, log = (os.path.abspath(p) for p in sys.argv[1:])
    ns = "fs-midframe-%d" % os.getpid()
    if subprocess.run(["ip", "netns", "add", ns]).returncode != 0:
        sys.exit(3)
    try:
        run = lambda *cmd: subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True)
        # An Ethernet MTU, so that TCP sends 1448-byte segments that tbf can pass (a packet
        # larger than the bucket would be dropped for ever).
        run("ip", "link", "set", "lo", "mtu", "1500", "up")
        run("tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", RATE, "burst", "64kb", "latency", "2s")
        # The capture must start inside both big frames; timing on a shared machine varies,
        # so try again (at most three times) when it did not.
        for attempt in range(3):
            run(sys.executable, os.path.abspath(__file__), "--inside", pcap, log)
            with open(log) as f:
                d = json.load(f)
            c = d["capture"]
            inside_both = all(
                d[k][0]["t"] < c["listening"] - 0.1 and c["received_at_" + k][0] > c["listening"] + 0.02
                for k in ("c2s", "s2c")
            )
            if inside_both:
                break
            print("attempt %d: the capture did not start inside both frames; again" % attempt, file=sys.stderr)
        else:
            sys.exit(4)
    finally:
        subprocess.run(["ip", "netns", "del", ns])


if __name__ == "__main__":
    main()
