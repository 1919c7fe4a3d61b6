#!/usr/bin/env python3
"""Writes synthetic-three-connections-rtt.pcap for the plots (usage: python3
make_rtt_capture.py OUT.pcap; no dependencies, seeded, so the file is the same every run):
three WebSocket connections on 127.0.0.1 over 20 seconds, masked text of 12 B to 30 KiB
(JSON, Japanese, Russian, a check mark) echoed by the server, a ping about every second
answered after an RTT that differs per connection (connection 1 slows down threefold
after 10 s), close 1000 "bye" both ways."""
import random, struct, sys, base64, hashlib

random.seed(7)
out = []  # (ts, bytes)

def csum(data):
    if len(data) % 2: data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data)//2), data))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def packet(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = struct.pack('!4s4sBBH', bytes(src), bytes(dst), 0, 6, len(tcp))
    c = csum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack('!H', c) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    eth = b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01' + b'\x08\x00'
    return eth + ip + tcp

class Conn:
    def __init__(self, cport):
        self.c = [127, 0, 0, 1]; self.s = [127, 0, 0, 1]
        self.cp = cport; self.sp = 8765
        self.cseq = random.randrange(1 << 31); self.sseq = random.randrange(1 << 31)
    def send(self, ts, client, data):
        for i in range(0, max(len(data), 1), 1400):
            piece = data[i:i+1400]
            if client:
                out.append((ts, packet(self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, 0x18, piece)))
                self.cseq = (self.cseq + len(piece)) & 0xffffffff
            else:
                out.append((ts, packet(self.s, self.c, self.sp, self.cp, self.sseq, self.cseq, 0x18, piece)))
                self.sseq = (self.sseq + len(piece)) & 0xffffffff
    def open(self, ts):
        out.append((ts, packet(self.c, self.s, self.cp, self.sp, self.cseq, 0, 0x02, b'')))
        self.cseq += 1
        out.append((ts + 0.0001, packet(self.s, self.c, self.sp, self.cp, self.sseq, self.cseq, 0x12, b'')))
        self.sseq += 1
        key = base64.b64encode(bytes(random.randrange(256) for _ in range(16))).decode()
        acc = base64.b64encode(hashlib.sha1((key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').encode()).digest()).decode()
        self.send(ts + 0.0002, True, ('GET /feed HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                                      'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n' % key).encode())
        self.send(ts + 0.0005, False, ('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                                       'Sec-WebSocket-Accept: %s\r\n\r\n' % acc).encode())

def frame(opcode, payload, masked):
    b = bytes([0x80 | opcode])
    n = len(payload); m = 0x80 if masked else 0
    if n < 126: b += bytes([m | n])
    elif n < 65536: b += bytes([m | 126]) + struct.pack('!H', n)
    else: b += bytes([m | 127]) + struct.pack('!Q', n)
    if masked:
        key = bytes(random.randrange(256) for _ in range(4))
        b += key + bytes(p ^ key[i % 4] for i, p in enumerate(payload))
    else:
        b += payload
    return b

texts = ['{"price": %d, "symbol": "ABC"}', 'こんにちは、世界 %d', 'Привет %d ✓', 'status %d ok']
events = []
start = 1_780_000_000.0
conns = [Conn(40000 + i) for i in range(3)]
for i, c in enumerate(conns):
    c.open(start + i * 0.4)
for i, c in enumerate(conns):
    t = start + 1 + i * 0.4
    base_rtt = [0.004, 0.012, 0.025][i]
    n = 0
    while t < start + 20:
        if random.random() < 0.5:
            size = random.choice([12, 40, 300, 2000, 9000, 30000]) if random.random() < 0.3 else None
            text = (texts[n % 4] % n).encode()
            if size: text = (text + b' ' + b'x' * size)[:size]
            events.append((t, c, True, frame(1, text, True)))
            events.append((t + 0.002, c, False, frame(1, text, False)))
        if n % 4 == 0:
            rtt = base_rtt * (3 if (i == 1 and t > start + 10) else 1) * random.uniform(0.7, 1.5)
            p = b'ping-%d' % n
            events.append((t + 0.01, c, True, frame(9, p, True)))
            events.append((t + 0.01 + rtt, c, False, frame(10, p, False)))
        n += 1
        t += random.uniform(0.15, 0.35)
    events.append((start + 20.5 + i * 0.1, c, True, frame(8, struct.pack('!H', 1000) + b'bye', True)))
    events.append((start + 20.52 + i * 0.1, c, False, frame(8, struct.pack('!H', 1000) + b'bye', False)))
for t, c, client, data in sorted(events, key=lambda e: e[0]):
    c.send(t, client, data)
out.sort(key=lambda p: p[0])
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for ts, data in out:
        sec = int(ts); usec = int(round((ts - sec) * 1e6))
        if usec >= 1000000: sec += 1; usec -= 1000000
        f.write(struct.pack('<IIII', sec, usec, len(data), len(data)) + data)
