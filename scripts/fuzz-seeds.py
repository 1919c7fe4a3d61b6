#!/usr/bin/env python3
"""Seeds every fuzz target's corpus from captures/ (pcap files only): analyzer_packets gets
whole packets in its own format, the others TCP payloads (joined, cut to 4 KiB)."""
import os, struct, sys
caps, out, targets = sys.argv[1], sys.argv[2], sys.argv[3:]
def packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24: return
    magic = data[:4]
    if magic == b'\xd4\xc3\xb2\xa1' or magic == b'\x4d\x3c\xb2\xa1': e = '<'
    elif magic == b'\xa1\xb2\xc3\xd4' or magic == b'\xa1\xb2\x3c\x4d': e = '>'
    else: return
    link = struct.unpack(e + 'I', data[20:24])[0]
    pos = 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + 'IIII', data[pos:pos + 16])
        yield link, data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
def tcp_payload(link, p):
    off = {1: 14, 113: 16, 276: 20, 0: 4, 101: 0}.get(link)
    if off is None: return b''
    ip = p[off:]
    if not ip: return b''
    if ip[0] >> 4 == 4: ihl = (ip[0] & 15) * 4; proto = ip[9]; t = ip[ihl:]
    elif ip[0] >> 4 == 6: proto = ip[6]; t = ip[40:]
    else: return b''
    if proto != 6 or len(t) < 20: return b''
    return t[(t[12] >> 4) * 4:]
pick = {1: 0, 113: 1, 276: 2, 0: 3, 101: 4}
for t in targets: os.makedirs(os.path.join(out, t), exist_ok=True)
n = 0
for name in sorted(os.listdir(caps)):
    if not name.endswith('.pcap'): continue
    pk = list(packets(os.path.join(caps, name)))
    if not pk or pk[0][0] not in pick: continue
    link = pk[0][0]
    for i in range(0, min(len(pk), 60), 20):
        chunk = pk[i:i + 20]
        seed = b'\xa5'.join(bytes([pick[link]]) + p for _, p in chunk)[:16384]
        pay = b''.join(tcp_payload(l, p) for l, p in chunk)[:4096]
        for t in targets:
            data = seed if t == 'analyzer_packets' else pay
            if data:
                with open(os.path.join(out, t, f'{name}-{i}'), 'wb') as f: f.write(data)
                n += 1
print(n, 'seeds')
