#!/usr/bin/env python3
"""The chat protocol of examples/scenarios/chat.ron, on Python `websockets` (asyncio API).

    python3 chat_server.py [--port 0] [--fault NAME] [--ping-interval 20] [--pong-timeout 5]

Prints "PORT <n>" on its first line once it listens on 127.0.0.1 (port 0: any free one).

The protocol (JSON text messages):
  {"type":"auth","token":T} -> {"type":"auth.ok","user":U}; alice-token/bob-token/carol-token
  are A/B/C; no token -> close 4401, unknown token -> close 4403, anything else before auth ->
  close 4401.
  {"type":"subscribe","room":R} -> {"type":"subscribed","room":R} (unsubscribe: unsubscribed);
  "user:<U>:private" only for U, others get {"type":"error","code":"forbidden","room":R}.
  {"type":"message","room":R,"text":X} -> every other subscriber of R gets
  {"type":"message","room":R,"from":U,"text":X,"seq":N} (N per room from 1), the sender
  {"type":"ack","room":R,"seq":N}.
  A ping every --ping-interval seconds; no pong within --pong-timeout -> close 1001.

--fault injects one bug (the tests check that chat.ron fails at the step about it):
"""

import argparse
import asyncio
import json
import re
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode

TOKENS = {"alice-token": "A", "bob-token": "B", "carol-token": "C"}
PRIVATE = re.compile(r"^user:([^:]+):private$")

FAULTS = {
    "wrong-from": "a broadcast names the receiver as its sender",
    "no-ack": "the sender gets no ack",
    "seq-not-increasing": "every message of a room has seq 1",
    "seq-global": "one seq counter for all rooms instead of one per room",
    "private-allowed": "anyone may subscribe to user:U:private",
    "wrong-close-codes": "no token closes 4403 and an unknown token 4401 (swapped)",
    "echo-to-sender": "the sender also gets its own message",
    "drop-on-close": "a client's close frame is answered by dropping TCP",
    "slow-broadcast": "broadcasts (and acks) leave 250 ms late",
    "leak-rooms": "a message reaches subscribers of every room",
    "no-unsubscribe": "unsubscribe is answered but the subscription stays",
    "keeps-closed-subscribers": "a client that left stays subscribed; sending to it fails the sender",
    "pre-auth-allowed": "messages before auth are served",
    "bad-token-accepted": "an unknown token is accepted",
}
__doc__ += "".join(f"  {k}: {v}\n" for k, v in FAULTS.items())


class Chat:
    def __init__(self, fault, ping_interval, pong_timeout):
        self.fault = fault
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.rooms = {}  # room -> set of connections
        self.seq = {}  # room -> last seq
        self.users = {}  # connection -> user

    async def send(self, ws, obj):
        await ws.send(json.dumps(obj))

    async def heartbeat(self, ws):
        while True:
            await asyncio.sleep(self.ping_interval)
            waiter = await ws.ping()
            try:
                await asyncio.wait_for(waiter, self.pong_timeout)
            except asyncio.TimeoutError:
                await ws.close(1001, "no pong")
                return

    def forget(self, ws):
        self.users.pop(ws, None)
        if self.fault == "keeps-closed-subscribers":
            return
        for members in self.rooms.values():
            members.discard(ws)

    async def handler(self, ws):
        if self.fault == "drop-on-close":
            send_frame = ws.protocol.send_frame

            def drop_instead_of_answering(frame):
                if frame.opcode is Opcode.CLOSE and ws.protocol.close_rcvd is not None:
                    ws.transport.abort()
                    return
                send_frame(frame)

            ws.protocol.send_frame = drop_instead_of_answering
        beat = asyncio.create_task(self.heartbeat(ws))
        try:
            async for raw in ws:
                if not await self.on_message(ws, raw):
                    break
        except ConnectionClosed:
            pass
        finally:
            beat.cancel()
            self.forget(ws)

    async def on_message(self, ws, raw):
        """Handles one message; False once the connection is closed."""
        try:
            msg = json.loads(raw)
        except (TypeError, ValueError):
            msg = None
        if not isinstance(msg, dict):
            await self.send(ws, {"type": "error", "code": "bad-request"})
            return True
        kind = msg.get("type")
        user = self.users.get(ws)
        if kind == "auth":
            token = msg.get("token")
            missing, unknown = (4403, 4401) if self.fault == "wrong-close-codes" else (4401, 4403)
            if token is None:
                await ws.close(missing, "missing token")
                return False
            if token not in TOKENS:
                if self.fault != "bad-token-accepted":
                    await ws.close(unknown, "unknown token")
                    return False
                self.users[ws] = str(token)
            else:
                self.users[ws] = TOKENS[token]
            await self.send(ws, {"type": "auth.ok", "user": self.users[ws]})
            return True
        if user is None:
            if self.fault != "pre-auth-allowed":
                await ws.close(4401, "not authenticated")
                return False
            user = "?"
        room = msg.get("room")
        if kind == "subscribe":
            owner = PRIVATE.match(room) if isinstance(room, str) else None
            if owner and owner.group(1) != user and self.fault != "private-allowed":
                await self.send(ws, {"type": "error", "code": "forbidden", "room": room})
                return True
            self.rooms.setdefault(room, set()).add(ws)
            await self.send(ws, {"type": "subscribed", "room": room})
        elif kind == "unsubscribe":
            if self.fault != "no-unsubscribe":
                self.rooms.get(room, set()).discard(ws)
            await self.send(ws, {"type": "unsubscribed", "room": room})
        elif kind == "message":
            key = "*" if self.fault == "seq-global" else room
            seq = 1 if self.fault == "seq-not-increasing" else self.seq.get(key, 0) + 1
            self.seq[key] = seq
            if self.fault == "leak-rooms":
                members = set().union(*self.rooms.values()) if self.rooms else set()
            else:
                members = set(self.rooms.get(room, set()))
            if self.fault != "echo-to-sender":
                members.discard(ws)
            if self.fault == "slow-broadcast":
                await asyncio.sleep(0.25)
            for other in members:
                out = {
                    "type": "message",
                    "room": room,
                    "from": self.users.get(other, "?") if self.fault == "wrong-from" else user,
                    "text": msg.get("text"),
                    "seq": seq,
                }
                if self.fault == "keeps-closed-subscribers":
                    await self.send(other, out)  # raises when `other` has gone
                    continue
                try:
                    await self.send(other, out)
                except ConnectionClosed:
                    pass
            if self.fault != "no-ack":
                await self.send(ws, {"type": "ack", "room": room, "seq": seq})
        else:
            await self.send(ws, {"type": "error", "code": "unknown-type"})
        return True


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--fault", choices=sorted(FAULTS))
    p.add_argument("--ping-interval", type=float, default=20.0)
    p.add_argument("--pong-timeout", type=float, default=5.0)
    args = p.parse_args()
    chat = Chat(args.fault, args.ping_interval, args.pong_timeout)
    # The protocol's own heartbeat replaces the library's (which would close with 1011).
    async with serve(chat.handler, "127.0.0.1", args.port, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
