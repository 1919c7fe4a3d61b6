#!/usr/bin/env python3
"""Records WebSockets over HTTP/2 (RFC 8441) on the loopback interface: Hypercorn serves an
ASGI app (a WebSocket echo at /ws and a plain GET at /hello); the client is built on the
`h2` and `wsproto` libraries: one HTTP/2 connection carrying two WebSocket streams
(extended CONNECT with :protocol websocket) and a plain GET stream beside them.

Captures: over TLS (ALPN h2, key log beside it), the same with the keys injected as a pcapng
Decryption Secrets Block (editcap --inject-secrets), cleartext h2c with prior knowledge,
h2c over IPv6, h2c reached by an HTTP/1.1 `Upgrade: h2c` (the upgraded GET /hello is
stream 1), and TLS with permessage-deflate negotiated on both WebSocket streams. Beside each capture, NAME.peers.json logs what the client sent and received
on every stream (the tests compare framescope's decoding with it). A third CONNECT, to
/refuse, is refused by the app (Hypercorn answers 403).
Needs: pip install hypercorn h2 wsproto; Debian's tshark (dumpcap, editcap); openssl; root.
Run from this folder: sudo python3 make_h2_captures.py [--out DIR] [--only NAME]
"""
import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = os.environ.setdefault("FRAMESCOPE_H2_TMP", tempfile.mkdtemp(prefix="framescope-h2-"))
CERT = os.path.join(TMP, "cert.pem")
KEY = os.path.join(TMP, "key.pem")


async def app(scope, receive, send):
    """The ASGI app Hypercorn serves."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        if scope["path"] == "/refuse":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        while True:
            event = await receive()
            if event["type"] == "websocket.receive":
                await send({"type": "websocket.send", "text": event.get("text"), "bytes": event.get("bytes")})
            else:
                return
    elif scope["type"] == "http":
        await receive()
        body = b"hello over HTTP/2\n"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    elif scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return


def serve(host, port, use_tls, asgi_app=None, alpn=("h2",), ciphers=None, ping_interval=None):
    """Hypercorn on host:port serving `asgi_app` (this module's `app` by default); over TLS it
    offers the ALPN protocols `alpn` (make_browser_captures.py also runs it HTTP/1.1-only) and,
    when given, only the TLS 1.2 `ciphers` (an OpenSSL cipher string); with `ping_interval`
    (seconds) it pings every WebSocket."""
    import asyncio

    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.websocket_ping_interval = ping_interval
    if use_tls:
        config.certfile = CERT
        config.keyfile = KEY
        config.alpn_protocols = list(alpn)
        if ciphers:
            config.ciphers = ciphers
    asyncio.run(hypercorn_serve(asgi_app or app, config))


def text_entry(text):
    """A logged text message; one character repeated is logged as the character and a count."""
    if len(text) > 64 and len(set(text)) == 1:
        return {"opcode": "text", "repeat": text[0], "times": len(text)}
    return {"opcode": "text", "text": text}


def client(host, port, use_tls, keys, log_path, bench_bytes=0, upgrade=False, deflate=False):
    import h2.config
    import h2.connection
    import h2.events
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import BytesMessage, CloseConnection, TextMessage
    from wsproto.events import Message as WsMessage

    sock = socket.create_connection((host, port))
    if use_tls:
        ctx = ssl.create_default_context(cafile=CERT)
        ctx.keylog_filename = keys
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
        assert sock.selected_alpn_protocol() == "h2"
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    early = b""
    if upgrade:
        # HTTP/1.1 Upgrade: h2c (RFC 7540 section 3.2): GET /hello becomes stream 1, answered
        # in HTTP/2 after the 101; the client's preface follows the 101.
        settings = conn.initiate_upgrade_connection()
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                     b"Upgrade: h2c\r\nHTTP2-Settings: " + settings + b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit("the server closed before answering the upgrade")
            head += chunk
        head, early = head.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
    else:
        conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    scheme = "https" if use_tls else "http"
    ws = {}
    responses = {}
    ended = set()

    def pump(until, limit=5.0):
        deadline = time.time() + limit
        while not until() and time.time() < deadline:
            sock.settimeout(max(0.05, deadline - time.time()))
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    responses[event.stream_id] = dict(event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    if event.stream_id in ws:
                        # Node's http2 ends a stream with an empty DATA frame after the
                        # close, which wsproto refuses once closed.
                        if event.data:
                            ws[event.stream_id][0].receive_data(event.data)
                        for e in ws[event.stream_id][0].events():
                            ws[event.stream_id][1].append(e)
                    else:
                        responses.setdefault(("body", event.stream_id), b"")
                        responses[("body", event.stream_id)] += event.data
                elif isinstance(event, h2.events.StreamEnded):
                    ended.add(event.stream_id)
            sock.sendall(conn.data_to_send())

    if early:
        for event in conn.receive_data(early):
            if isinstance(event, h2.events.ResponseReceived):
                responses[event.stream_id] = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                responses.setdefault(("body", event.stream_id), b"")
                responses[("body", event.stream_id)] += event.data
            elif isinstance(event, h2.events.StreamEnded):
                ended.add(event.stream_id)
        sock.sendall(conn.data_to_send())
    pump(lambda: conn.remote_settings.get(0x8) == 1)
    streams = []
    paths = {}
    for path in ("/ws?stream=a", "/ws?stream=b"):
        sid = conn.get_next_available_stream_id()
        offer = [("sec-websocket-extensions", "permessage-deflate; client_max_window_bits")] if deflate else []
        conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", scheme),
                                (":path", path), (":authority", "localhost"), ("sec-websocket-version", "13")]
                          + offer)
        ws[sid] = (Connection(ConnectionType.CLIENT), [])
        streams.append(sid)
        paths[sid] = path
    if upgrade:
        get_sid = 1  # the upgraded request
    else:
        get_sid = conn.get_next_available_stream_id()
        conn.send_headers(get_sid, [(":method", "GET"), (":scheme", scheme), (":path", "/hello"),
                                    (":authority", "localhost")], end_stream=True)
    refused_sid = conn.get_next_available_stream_id()
    conn.send_headers(refused_sid, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", scheme),
                                    (":path", "/refuse"), (":authority", "localhost"),
                                    ("sec-websocket-version", "13")])
    sock.sendall(conn.data_to_send())
    pump(lambda: all(s in responses for s in streams + [refused_sid]) and get_sid in ended)
    if deflate:
        # The server's answer to the offer sets up each stream's permessage-deflate.
        from wsproto.extensions import PerMessageDeflate

        for sid in streams:
            answer = responses[sid].get(b"sec-websocket-extensions", b"").decode()
            assert answer.startswith("permessage-deflate"), responses[sid]
            ext = PerMessageDeflate()
            ext.finalize(answer)
            ws[sid] = (Connection(ConnectionType.CLIENT, extensions=[ext]), ws[sid][1])
    sent = {sid: [] for sid in streams}

    def ws_send(sid, event):
        if isinstance(event, TextMessage):
            sent[sid].append(text_entry(event.data))
        elif isinstance(event, BytesMessage):
            sent[sid].append({"opcode": "binary", "hex": bytes(event.data).hex()})
        elif isinstance(event, CloseConnection):
            sent[sid].append({"opcode": "close", "code": event.code, "reason": event.reason})
        data = ws[sid][0].send(event)
        step = conn.max_outbound_frame_size
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            # Respect the server's flow-control windows (WINDOW_UPDATEs arrive in pump).
            pump(lambda: min(conn.local_flow_control_window(sid), conn.outbound_flow_control_window) >= len(piece))
            conn.send_data(sid, piece)
        sock.sendall(conn.data_to_send())

    a, b = streams
    ws_send(a, TextMessage(data="hello on stream a"))
    ws_send(b, TextMessage(data="hello on stream b"))
    ws_send(a, BytesMessage(data=bytes(range(256))))
    ws_send(b, TextMessage(data="x" * 20000))
    pump(lambda: len(ws[a][1]) >= 2 and len(ws[b][1]) >= 2)
    if bench_bytes:
        # The benchmark workload: binary messages of 1-16 KiB on both streams, each echoed.
        import random

        rng = random.Random(11)
        payloads = [rng.randbytes(rng.randrange(1024, 16384)) for _ in range(64)]
        done, i = 0, 0
        while done < bench_bytes // 2:
            sid = streams[i % 2]
            p = payloads[i % len(payloads)]
            before = len(ws[sid][1])
            ws_send(sid, BytesMessage(data=p))
            sent[sid].pop()
            pump(lambda: any(getattr(e, "message_finished", False) for e in ws[sid][1][before:]), 10.0)
            del ws[sid][1][before:]
            done += len(p)
            i += 1
    for sid in streams:
        ws_send(sid, CloseConnection(code=1000, reason="done"))
    pump(lambda: all(any(isinstance(e, CloseConnection) for e in ws[s][1]) for s in streams))
    for sid in streams:
        if sid not in ended:
            conn.end_stream(sid)
    sock.sendall(conn.data_to_send())
    pump(lambda: all(s in ended for s in streams), 1.0)
    if refused_sid not in ended:
        conn.reset_stream(refused_sid)
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()

    def logged(e):
        if isinstance(e, TextMessage):
            return text_entry(e.data)
        if isinstance(e, BytesMessage):
            return {"opcode": "binary", "hex": bytes(e.data).hex()}
        if isinstance(e, CloseConnection):
            return {"opcode": "close", "code": e.code, "reason": e.reason}
        return {"event": type(e).__name__}

    def messages(events):
        # wsproto hands a long message over in parts (message_finished marks the last).
        out, part = [], None
        for e in events:
            if isinstance(e, WsMessage):
                part = e.data if part is None else part + e.data
                if e.message_finished:
                    out.append(logged(type(e)(data=part)))
                    part = None
            else:
                out.append(logged(e))
        return out

    log = {
        "websockets": [
            {"stream": sid, "path": paths[sid], "status": int(responses[sid][b":status"]),
             "extensions": responses[sid].get(b"sec-websocket-extensions", b"").decode(),
             "sent": sent[sid], "received": messages(ws[sid][1])}
            for sid in streams
        ],
        "refused": {"stream": refused_sid, "path": "/refuse",
                    "status": int(responses.get(refused_sid, {}).get(b":status", b"0"))},
        "get": {"stream": get_sid, "path": "/hello", "status": int(responses[get_sid][b":status"]),
                "body": responses[("body", get_sid)].decode()},
    }
    with open(log_path, "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")
    for sid in streams:
        print(f"  stream {sid}: {responses.get(sid, {}).get(b':status')} "
              f"{[getattr(e, 'data', getattr(e, 'code', None)) if not isinstance(e, WsMessage) or len(e.data) < 40 else len(e.data) for e in ws[sid][1]]}")
    print(f"  GET stream {get_sid}: {responses.get(get_sid, {}).get(b':status')} {responses.get(('body', get_sid))}")


def free_port(host):
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def capturing_server(pcap, port, server_command, server_env=None):
    """dumpcap on lo (`tcp port PORT` into `pcap`), then a Hypercorn process (`server_command`,
    the maker script's own --serve) started on it; yields once it has had time to listen,
    then stops the server and, after its last packets, the capture.
    make_browser_captures.py records the same way."""
    cap = subprocess.Popen(["dumpcap", "-q", "-P", "-B", "512", "-i", "lo", "-f", f"tcp port {port}", "-w", pcap],
                           stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    server = subprocess.Popen(server_command, env=server_env)
    try:
        time.sleep(2.0)
        yield
    finally:
        time.sleep(0.5)
        server.terminate()
        server.wait()
        time.sleep(0.5)
        cap.terminate()
        cap.wait()


def outputs(out, name):
    """NAME.pcap, NAME.keys and NAME.peers.json in `out`, any earlier copies removed."""
    paths = tuple(os.path.join(out, f"{name}{ext}") for ext in (".pcap", ".keys", ".peers.json"))
    for p in paths:
        if os.path.exists(p):
            os.remove(p)
    return paths


def publish(paths):
    """Makes what root recorded readable by everyone (the tests do not run as root)."""
    for p in paths:
        if os.path.exists(p):
            os.chmod(p, 0o644)


def with_secrets(out, dsb, pcap, keys, log):
    """The same session with the keys inside the file as a Decryption Secrets Block
    (DSB.pcapng, DSB.peers.json beside it)."""
    target = os.path.join(out, f"{dsb}.pcapng")
    subprocess.run(["editcap", "--inject-secrets", f"tls,{keys}", pcap, target], check=True)
    os.chmod(target, 0o644)
    shutil.copyfile(log, os.path.join(out, f"{dsb}.peers.json"))
    print(f"wrote {target} ({os.path.getsize(target)} bytes)")


def record(out, name, use_tls, host="127.0.0.1", dsb=None, bench_bytes=0, upgrade=False, deflate=False,
           server_argv=None, client_argv=None):
    """Records `client` against Hypercorn (this file's `--serve`) or, with `server_argv`, the
    server that command line starts; with `client_argv`, that command is the client and its
    standard output the peer log ("{port}" and "{keys}" in either are replaced)."""
    pcap, keys, log = outputs(out, name)
    port = free_port(host)

    def argv(args):
        return [a.replace("{port}", str(port)).replace("{keys}", keys) for a in args]

    server = argv(server_argv) if server_argv else [sys.executable, __file__, "--serve", host, str(port),
                                                    "1" if use_tls else "0"]
    with capturing_server(pcap, port, server):
        if client_argv:
            with open(log, "wb") as f:
                f.write(subprocess.run(argv(client_argv), check=True, capture_output=True, timeout=60).stdout)
        else:
            client(host, port, use_tls, keys, log, bench_bytes, upgrade, deflate)
    publish((pcap, keys, log))
    print(f"wrote {pcap} ({os.path.getsize(pcap)} bytes)")
    if dsb:
        with_secrets(out, dsb, pcap, keys, log)


def make_cert():
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", KEY, "-out", CERT, "-days", "3650", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, stderr=subprocess.DEVNULL,
    )


def main():
    args = sys.argv[1:]
    if args and args[0] == "--serve":
        serve(args[1], int(args[2]), args[3] == "1")
        return
    if args and args[0] == "--bench":
        # make_h2_captures.py --bench DIR SIZE_MB: a large h2-over-TLS capture for
        # scripts/bench.sh (not kept in captures/).
        make_cert()
        out, size_mb = args[1], int(args[2])
        record(out, f"h2-bench-{size_mb}MB", True, bench_bytes=size_mb * 1_000_000)
        return
    out = HERE
    only = None
    while args:
        if args[0] == "--out" and len(args) > 1:
            out, args = args[1], args[2:]
        elif args[0] == "--only" and len(args) > 1:
            only, args = args[1], args[2:]
        else:
            sys.exit(f"unknown argument {args[0]}")
    make_cert()
    runs = [
        ("h2-tls-hypercorn-two-websockets-and-get", dict(use_tls=True, dsb="h2-tls-hypercorn-dsb")),
        ("h2c-hypercorn-two-websockets-and-get", dict(use_tls=False)),
        ("h2c-ipv6-hypercorn-two-websockets-and-get", dict(use_tls=False, host="::1")),
        ("h2c-upgrade-hypercorn-two-websockets-and-get", dict(use_tls=False, upgrade=True)),
        ("h2-tls-deflate-hypercorn-two-websockets-and-get", dict(use_tls=True, deflate=True)),
    ]
    for name, kw in runs:
        if only in (None, name):
            record(out, name, **kw)


if __name__ == "__main__":
    main()
