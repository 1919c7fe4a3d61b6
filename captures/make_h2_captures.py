#!/usr/bin/env python3
"""Records WebSockets over HTTP/2 (RFC 8441) on the loopback interface: Hypercorn serves an
ASGI app (a WebSocket echo at /ws and a plain GET at /hello); the client is built on the
`h2` and `wsproto` libraries: one HTTP/2 connection carrying two WebSocket streams
(extended CONNECT with :protocol websocket) and a plain GET stream beside them.

Two captures: over TLS (ALPN h2, key log beside it) and cleartext h2c with prior knowledge.
Needs: pip install hypercorn h2 wsproto; Debian's tshark (dumpcap); openssl; root.
Run from this folder: sudo python3 make_h2_captures.py
"""
import os
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


def serve(port, use_tls):
    import asyncio

    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    if use_tls:
        config.certfile = CERT
        config.keyfile = KEY
        config.alpn_protocols = ["h2"]
    asyncio.run(hypercorn_serve(app, config))


def client(port, use_tls, keys):
    import h2.config
    import h2.connection
    import h2.events
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import BytesMessage, CloseConnection, TextMessage
    from wsproto.events import Message as WsMessage

    sock = socket.create_connection(("127.0.0.1", port))
    if use_tls:
        ctx = ssl.create_default_context(cafile=CERT)
        ctx.keylog_filename = keys
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
        assert sock.selected_alpn_protocol() == "h2"
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
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
                        ws[event.stream_id][0].receive_data(event.data)
                        for e in ws[event.stream_id][0].events():
                            ws[event.stream_id][1].append(e)
                    else:
                        responses.setdefault(("body", event.stream_id), b"")
                        responses[("body", event.stream_id)] += event.data
                elif isinstance(event, h2.events.StreamEnded):
                    ended.add(event.stream_id)
            sock.sendall(conn.data_to_send())

    pump(lambda: conn.remote_settings.get(0x8) == 1)
    streams = []
    for path in ("/ws?stream=a", "/ws?stream=b"):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", scheme),
                                (":path", path), (":authority", "localhost"), ("sec-websocket-version", "13")])
        ws[sid] = (Connection(ConnectionType.CLIENT), [])
        streams.append(sid)
    get_sid = conn.get_next_available_stream_id()
    conn.send_headers(get_sid, [(":method", "GET"), (":scheme", scheme), (":path", "/hello"),
                                (":authority", "localhost")], end_stream=True)
    sock.sendall(conn.data_to_send())
    pump(lambda: all(s in responses for s in streams) and get_sid in ended)

    def ws_send(sid, event):
        data = ws[sid][0].send(event)
        step = conn.max_outbound_frame_size
        for i in range(0, len(data), step):
            conn.send_data(sid, data[i:i + step])
        sock.sendall(conn.data_to_send())

    a, b = streams
    ws_send(a, TextMessage(data="hello on stream a"))
    ws_send(b, TextMessage(data="hello on stream b"))
    ws_send(a, BytesMessage(data=bytes(range(256))))
    ws_send(b, TextMessage(data="x" * 20000))
    pump(lambda: len(ws[a][1]) >= 2 and len(ws[b][1]) >= 2)
    for sid in streams:
        ws_send(sid, CloseConnection(code=1000, reason="done"))
    pump(lambda: all(any(isinstance(e, CloseConnection) for e in ws[s][1]) for s in streams))
    for sid in streams:
        if sid not in ended:
            conn.end_stream(sid)
    sock.sendall(conn.data_to_send())
    pump(lambda: all(s in ended for s in streams), 1.0)
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    for sid in streams:
        print(f"  stream {sid}: {responses.get(sid, {}).get(b':status')} "
              f"{[getattr(e, 'data', getattr(e, 'code', None)) if not isinstance(e, WsMessage) or len(e.data) < 40 else len(e.data) for e in ws[sid][1]]}")
    print(f"  GET stream {get_sid}: {responses.get(get_sid, {}).get(b':status')} {responses.get(('body', get_sid))}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(name, use_tls):
    pcap = os.path.join(HERE, f"{name}.pcap")
    keys = os.path.join(HERE, f"{name}.keys")
    for p in (pcap, keys):
        if os.path.exists(p):
            os.remove(p)
    port = free_port()
    cap = subprocess.Popen(["dumpcap", "-q", "-P", "-i", "lo", "-f", f"tcp port {port}", "-w", pcap],
                           stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "1" if use_tls else "0"])
    try:
        time.sleep(2.0)
        client(port, use_tls, keys)
    finally:
        time.sleep(0.5)
        server.terminate()
        server.wait()
        time.sleep(0.5)
        cap.terminate()
        cap.wait()
    os.chmod(pcap, 0o644)
    if use_tls:
        os.chmod(keys, 0o644)
    print(f"wrote {pcap} ({os.path.getsize(pcap)} bytes)")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3] == "1")
        return
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", KEY, "-out", CERT, "-days", "3650", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, stderr=subprocess.DEVNULL,
    )
    record("h2-tls-hypercorn-two-websockets-and-get", True)
    record("h2c-hypercorn-two-websockets-and-get", False)


if __name__ == "__main__":
    main()
