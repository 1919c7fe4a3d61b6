#!/usr/bin/env python3
"""A small RFC 6455 echo server on raw sockets (asyncio streams), correct by default, with one
flag per injected fault, for framescope's probe tests. Usage:
    raw_echo.py PORT [--fault NAME]
Faults (each breaks one rule; no-utf8-check concerns text messages, not close reasons):
no-utf8-check, ignore-reserved-opcode, wrong-pong, drop-on-close, accept-rsv,
accept-bad-fragments, accept-long-control, accept-unmasked.
Prints "listening PORT" once ready. Only for 127.0.0.1."""
import asyncio, base64, codecs, hashlib, struct, sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
FAULT = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--fault" else None
VALID_CODES = set(range(3000, 5000)) | {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011}


class Fail(Exception):
    def __init__(self, code):
        self.code = code


def frame(opcode, payload, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except Exception:
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    hdr = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdr[k.strip().lower()] = v.strip()
    key = hdr.get("sec-websocket-key")
    if not lines[0].startswith("GET ") or hdr.get("upgrade", "").lower() != "websocket" or not key:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain(); writer.close(); return
    if hdr.get("sec-websocket-version") != "13":
        writer.write(b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n")
        await writer.drain(); writer.close(); return
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
    await writer.drain()
    msg_op, msg, dec = None, bytearray(), None
    close_sent = False

    async def fail(code):
        writer.write(frame(8, struct.pack("!H", code)))
        await writer.drain()
        try:
            await asyncio.wait_for(reader.read(65536), 1)
        except Exception:
            pass
        writer.close()

    try:
        while True:
            b0, b1 = await reader.readexactly(2)
            fin, rsv, op = b0 & 0x80, b0 & 0x70, b0 & 0x0F
            masked, n = b1 & 0x80, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await reader.readexactly(8))[0]
                if n >> 63:
                    raise Fail(1002)
            if rsv and FAULT != "accept-rsv":
                raise Fail(1002)
            if not masked and FAULT != "accept-unmasked":
                raise Fail(1002)
            if op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
                if FAULT == "ignore-reserved-opcode":
                    if masked:
                        await reader.readexactly(4)
                    await reader.readexactly(n)
                    continue
                raise Fail(1002)
            if op >= 8 and not fin:
                raise Fail(1002)
            if op >= 8 and n > 125 and FAULT != "accept-long-control":
                raise Fail(1002)
            if n > 64 * 1024 * 1024:
                raise Fail(1009)
            mask = await reader.readexactly(4) if masked else b"\0\0\0\0"
            data = bytearray(await reader.readexactly(n))
            for i in range(n):
                data[i] ^= mask[i % 4]
            if op == 9:
                writer.write(frame(10, b"pong" if FAULT == "wrong-pong" else bytes(data)))
                await writer.drain()
                continue
            if op == 10:
                continue
            if op == 8:
                if FAULT == "drop-on-close":
                    writer.transport.abort()
                    return
                code = 1000
                if len(data) == 1:
                    raise Fail(1002)
                if len(data) >= 2:
                    c = struct.unpack("!H", data[:2])[0]
                    if c not in VALID_CODES:
                        raise Fail(1002)
                    try:
                        bytes(data[2:]).decode("utf-8")
                    except UnicodeDecodeError:
                        raise Fail(1007)
                    code = c
                writer.write(frame(8, struct.pack("!H", code) if data else b""))
                await writer.drain()
                writer.close()
                return
            if op == 0:
                if msg_op is None and FAULT != "accept-bad-fragments":
                    raise Fail(1002)
            else:
                if msg_op is not None:
                    if FAULT != "accept-bad-fragments":
                        raise Fail(1002)
                msg_op, msg = op, bytearray()
                dec = codecs.getincrementaldecoder("utf-8")() if op == 1 else None
            if msg_op is None:
                msg_op = 1
            msg += data
            if dec is not None and FAULT != "no-utf8-check":
                try:
                    dec.decode(bytes(data), final=bool(fin))
                except UnicodeDecodeError:
                    raise Fail(1007)
            if fin:
                writer.write(frame(msg_op, bytes(msg)))
                await writer.drain()
                msg_op, msg, dec = None, bytearray(), None
    except Fail as f:
        await fail(f.code)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def main():
    port = int(sys.argv[1])
    server = await asyncio.start_server(handle, "127.0.0.1", port, limit=1 << 20)
    print("listening", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
