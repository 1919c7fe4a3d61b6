#!/usr/bin/env python3
"""Records the TLS and HTTP/2 variants of issue 11 that the other makers do not: session
resumption (TLS 1.2 by session ID and by ticket, TLS 1.3 PSK), TLS 1.3 0-RTT early data
accepted and rejected, Node `ws` over TLS with each forced suite, and an RFC 8441 server on
Node's `http2`. Each capture has its key log (`NAME.keys`) and what the peers logged
(`NAME.peers.json`) beside it; tests/tls_variants.rs compares framescope with both.

Reuses the other makers: the certificate, dumpcap and the websockets echo server of
make_tls_captures.py, the h2 + wsproto client and the recording of make_h2_captures.py.
Needs: pip install websockets h2 wsproto; Debian's tshark (dumpcap), openssl, node with
`npm install` in peers/; root (dumpcap on lo).
Run from this folder: sudo python3 make_tls_variants.py [NAME…]
"""
import base64
import hashlib
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import time

import make_h2_captures as h2
import make_tls_captures as tls

HERE = tls.HERE
PEERS = os.path.join(HERE, "peers")


def entry(opcode, payload):
    """A message as tests/common/peers.rs reads it: text or hex, over 4 KiB by length and
    SHA-256; a close by code and reason."""
    if opcode == "close":
        return {"opcode": "close", "code": payload[0], "reason": payload[1]}
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    if len(data) > 4096:
        return {"opcode": opcode, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if opcode == "text":
        return {"opcode": "text", "text": data.decode()}
    return {"opcode": opcode, "hex": data.hex()}


def fresh(name):
    """The capture, key log and peer log paths of `name`, old files removed."""
    paths = tuple(os.path.join(HERE, f"{name}.{ext}") for ext in ("pcap", "keys", "peers.json"))
    for p in paths:
        if os.path.exists(p):
            os.remove(p)
    return paths


def publish(name, log):
    pcap, keys, log_path = (os.path.join(HERE, f"{name}.{ext}") for ext in ("pcap", "keys", "peers.json"))
    with open(log_path, "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")
    for p in (pcap, keys, log_path):
        os.chmod(p, 0o644)
    print(f"wrote {pcap} ({os.path.getsize(pcap)} bytes)")


# --- Session resumption: two connections, the second resuming the first's session. ---

def resumption_capture(name, max_version="", options=""):
    """The websockets echo server (make_tls_captures.py); a websockets sync client on a
    socket wrapped by Python's `ssl`, so the second connection can pass the first's
    `session`. Each connection: text, binary, 20 000 pseudo-random bytes (two records),
    ping, close 1000."""
    from websockets.sync.client import connect

    pcap, keys, _ = fresh(name)
    port = tls.free_port()
    cap = tls.start_capture(pcap, port)
    ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256" if max_version == "1.2" else ""
    server = subprocess.Popen([sys.executable, tls.__file__, "--serve", str(port), keys, max_version, ciphers,
                               options])
    connections = []
    try:
        time.sleep(1.5)
        ctx = tls.client_ctx(keys)
        session = None
        for i in range(2):
            raw = socket.create_connection(("127.0.0.1", port))
            sock = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
            sent, received = [], []
            # ws:// on a socket that is already TLS: websockets leaves it as it is.
            path = f"/resume-{i}"
            with connect(f"ws://localhost:{port}{path}", sock=sock, compression="deflate") as ws:
                for message in (f"connection {i}", bytes(range(i, 256)), random.Random(i).randbytes(20000)):
                    ws.send(message)
                    sent.append(entry("text" if isinstance(message, str) else "binary", message))
                    reply = ws.recv()
                    received.append(entry("text" if isinstance(reply, str) else "binary", reply))
                ws.ping(b"resume").wait(5)
                sent.append(entry("ping", b"resume"))
                received.append(entry("pong", b"resume"))
                facts = {"path": path, "session_reused": sock.session_reused, "cipher": sock.cipher()[0],
                         "tls_version": sock.version()}
                # TLS 1.3 tickets arrive after the handshake: the session is read once the
                # connection has carried data.
                session = sock.session
                ws.close(1000, "done")
                sent.append(entry("close", (1000, "done")))
                received.append(entry("close", (ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason)))
            connections.append(dict(facts, sent=sent, received=received))
    finally:
        server.terminate()
        server.wait()
        tls.stop_capture(cap, pcap)
    assert [c["session_reused"] for c in connections] == [False, True], connections
    publish(name, {"connections": connections})


# --- TLS 1.3 early data: OpenSSL s_client and s_server, hand-driven as WebSocket peers. ---

WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def upgrade_request(path):
    return (f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def upgrade_response():
    accept = base64.b64encode(hashlib.sha1((WS_KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")


def server_frame(opcode, payload):
    assert len(payload) < 126
    return bytes([0x80 | opcode, len(payload)]) + payload


def openssl_server(port, keys, options):
    """OpenSSL's s_server (TLS 1.3, the EC certificate) on 127.0.0.1:port, fed on stdin."""
    return subprocess.Popen(
        ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", tls.CERT, "-key", tls.KEY, "-tls1_3",
         "-keylogfile", keys] + options,
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def openssl_client(port, keys, options):
    """OpenSSL's s_client (TLS 1.3, no command letters), fed on stdin; its output is read."""
    return subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-CAfile",
         tls.CERT, "-tls1_3", "-nocommands", "-keylogfile", keys] + options,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def write(proc, data, pause=0.4):
    proc.stdin.write(data)
    proc.stdin.flush()
    time.sleep(pause)


def server_keyupdate_capture(name):
    """s_server as the WebSocket server sends KeyUpdates itself (its command letters):
    `k` (its own keys only), then `K` (update_requested: the client updates too)."""
    pcap, keys, _ = fresh(name)
    port = tls.free_port()
    cap = tls.start_capture(pcap, port)
    server = openssl_server(port, keys, [])
    texts = ["before any key update", "after the server's own KeyUpdate", "after an update_requested KeyUpdate"]
    try:
        time.sleep(1.0)
        client = openssl_client(port, keys, [])
        time.sleep(0.8)
        write(client, upgrade_request("/server-keyupdate"))
        write(server, upgrade_response())
        for i, text in enumerate(texts):
            if i == 1:
                write(server, b"k\n")
            elif i == 2:
                write(server, b"K\n")
            write(client, tls.masked_frame(1, text.encode()))
            write(server, server_frame(1, b"echo: " + text.encode()))
        write(client, tls.masked_frame(8, b"\x03\xe8bye"))
        write(server, server_frame(8, b"\x03\xe8bye"), 0.8)
        client.stdin.close()
        client.stdout.read()
        client.wait(timeout=10)
    finally:
        server.terminate()
        server.wait()
        tls.stop_capture(cap, pcap)
    sent = [entry("text", t) for t in texts] + [entry("close", (1000, "bye"))]
    received = [entry("text", "echo: " + t) for t in texts] + [entry("close", (1000, "bye"))]
    publish(name, {"connections": [{"path": "/server-keyupdate", "sent": sent, "received": received}]})


def early_data_capture(name, accept, server_options=()):
    """s_server issues a ticket on a first, ordinary connection; a second s_client resumes
    with it and sends its upgrade request and a first masked text frame as 0-RTT early data.
    `accept`: s_server reads early data (`-early_data`); otherwise it advertises early data
    in its tickets (`-max_early_data`) but rejects it, and the client sends the same bytes
    again once the handshake is done. `server_options`: more s_server options (a group
    list that makes it answer the resumed ClientHello with a HelloRetryRequest, which
    rejects early data whatever the server allows). The server side (101 and the echoes) is written to
    s_server's standard input; `-quiet` turns its command letters off."""
    pcap, keys, _ = fresh(name)
    session_file = os.path.join(tls.TMP, f"{name}.session")
    early_file = os.path.join(tls.TMP, f"{name}.early")
    port = tls.free_port()
    cap = tls.start_capture(pcap, port)
    server = openssl_server(port, keys, ["-quiet", "-max_early_data", "16384"] + (["-early_data"] if accept else [])
                            + list(server_options))

    def client(extra):
        return openssl_client(port, keys, extra)

    connections = []
    try:
        time.sleep(1.0)
        # The first connection: an ordinary session that leaves a ticket in session_file.
        first = client(["-sess_out", session_file])
        time.sleep(0.8)
        sent = [b"first connection", b"bye"]
        write(first, upgrade_request("/full"))
        write(server, upgrade_response())
        write(first, tls.masked_frame(1, sent[0]))
        write(server, server_frame(1, b"echo: " + sent[0]))
        write(first, tls.masked_frame(8, b"\x03\xe8" + sent[1]))
        write(server, server_frame(8, b"\x03\xe8" + sent[1]), 0.8)
        first.stdin.close()
        first.wait(timeout=10)
        connections.append({"path": "/full", "early_data": None,
                            "sent": ["first connection"], "received": ["echo: first connection"]})
        # (each connection's sent and received lists end with its close, added below)
        # The second: upgrade and one text frame as early data.
        early = upgrade_request("/early") + tls.masked_frame(1, b"sent as early data")
        with open(early_file, "wb") as f:
            f.write(early)
        second = client(["-sess_in", session_file, "-early_data", early_file])
        time.sleep(1.0)
        if not accept:
            # The server skipped the early data: the client sends it again, now protected by
            # its application traffic key.
            write(second, early)
        write(server, upgrade_response())
        write(server, server_frame(1, b"echo: sent as early data"))
        write(second, tls.masked_frame(1, b"after the handshake"))
        write(server, server_frame(1, b"echo: after the handshake"))
        write(second, tls.masked_frame(8, b"\x03\xe8bye"))
        write(server, server_frame(8, b"\x03\xe8bye"), 0.8)
        second.stdin.close()
        out = second.stdout.read().decode(errors="replace")
        second.wait(timeout=10)
        status = "accepted" if "Early data was accepted" in out else (
            "rejected" if "Early data was rejected" in out else "not sent")
        assert status == ("accepted" if accept else "rejected"), out
        connections.append({"path": "/early", "early_data": status,
                            "sent": ["sent as early data", "after the handshake"],
                            "received": ["echo: sent as early data", "echo: after the handshake"]})
    finally:
        server.terminate()
        server.wait()
        tls.stop_capture(cap, pcap)
    for c in connections:
        c["sent"] = [entry("text", t) for t in c["sent"]] + [entry("close", (1000, "bye"))]
        c["received"] = [entry("text", t) for t in c["received"]] + [entry("close", (1000, "bye"))]
    publish(name, {"connections": connections})


# --- Node peers. ---

def node_ws_suites_capture(name):
    """Node `ws` client and server (peers/ws_tls_suites.js), one connection per forced
    suite, keys by `node --tls-keylog`."""
    pcap, keys, _ = fresh(name)
    port = tls.free_port()
    cap = tls.start_capture(pcap, port)
    try:
        out = subprocess.run(["node", f"--tls-keylog={keys}", os.path.join(PEERS, "ws_tls_suites.js"), tls.CERT,
                              tls.KEY], env=dict(os.environ, PORT=str(port)), check=True, capture_output=True,
                             timeout=60).stdout
    finally:
        tls.stop_capture(cap, pcap)
    publish(name, {"connections": json.loads(out)})


def node_h2_capture(name, use_tls):
    """make_h2_captures.py's h2 + wsproto client against Node's `http2` with
    enableConnectProtocol (peers/h2_websocket_server.js)."""
    server = ["node", os.path.join(PEERS, "h2_websocket_server.js"), "127.0.0.1", "{port}",
              "1" if use_tls else "0", h2.CERT, h2.KEY]
    h2.record(HERE, name, use_tls, server_argv=server)


def node_h2_client_capture(name):
    """Node's `http2` client (peers/h2_websocket_client.js) sending extended CONNECTs to the
    Node server, keys by `node --tls-keylog`. (Against Hypercorn 0.18 it cannot be recorded:
    when `ws` ends a WebSocket stream after the closing handshake, Hypercorn fails with
    KeyError on the stream and drops the whole connection.)"""
    server = ["node", os.path.join(PEERS, "h2_websocket_server.js"), "127.0.0.1", "{port}", "1", h2.CERT, h2.KEY]
    client = ["node", "--tls-keylog={keys}", os.path.join(PEERS, "h2_websocket_client.js"),
              "https://localhost:{port}/", h2.CERT]
    h2.record(HERE, name, True, server_argv=server, client_argv=client)


RECORDINGS = {
    "tls12-resumption-session-id": lambda n: resumption_capture(n, "1.2", "no-ticket"),
    "tls12-resumption-ticket": lambda n: resumption_capture(n, "1.2"),
    "tls13-resumption-psk": lambda n: resumption_capture(n),
    "tls13-early-data-accepted-openssl": lambda n: early_data_capture(n, accept=True),
    "tls13-early-data-rejected-openssl": lambda n: early_data_capture(n, accept=False),
    # The client's key share is X25519, the server takes P-256 only: a HelloRetryRequest.
    "tls13-early-data-hello-retry-openssl": lambda n: early_data_capture(n, accept=False,
                                                                         server_options=("-groups", "P-256")),
    "tls13-keyupdate-openssl-server": server_keyupdate_capture,
    "node-ws-tls-suites": node_ws_suites_capture,
    "h2-tls-node-two-websockets-and-get": lambda n: node_h2_capture(n, True),
    "h2c-node-two-websockets-and-get": lambda n: node_h2_capture(n, False),
    "h2-tls-node-client-two-websockets-and-get": node_h2_client_capture,
}


def main():
    names = sys.argv[1:] or list(RECORDINGS)
    unknown = [n for n in names if n not in RECORDINGS]
    if unknown:
        sys.exit(f"unknown capture {unknown}; known: {', '.join(RECORDINGS)}")
    tls.make_certificate()
    h2.make_cert()
    for name in names:
        RECORDINGS[name](name)


if __name__ == "__main__":
    main()
