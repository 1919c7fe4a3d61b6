#!/usr/bin/env python3
"""Records the TLS (wss://) sample captures of this folder on the loopback interface, each
with its NSS key log beside it (`NAME.pcap` + `NAME.keys`).

Needs: pip install websockets (17.x), Debian's tshark (dumpcap, editcap), openssl, root.
Run from this folder: sudo python3 make_tls_captures.py        (all of them)
                      sudo python3 make_tls_captures.py --cbc  (the TLS 1.2 AES-CBC ones only)
The CBC captures also get `NAME.peers.json`: what the client sent and received (opcode,
length, SHA-256 of each message), for tests/tls_captures.rs to compare with.
The server runs in its own process so that its OpenSSL settings (TLS 1.3 suites, key
exchange groups) can differ from the client's; both write the key log.
"""
import asyncio
import hashlib
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The server child process shares the parent's temporary folder (certificate, configs).
TMP = os.environ.setdefault("FRAMESCOPE_TLS_TMP", tempfile.mkdtemp(prefix="framescope-tls-"))
CERT = os.path.join(TMP, "cert.pem")
KEY = os.path.join(TMP, "key.pem")
# An RSA certificate for the suites that need one (ECDHE-RSA, RSA key exchange).
RSA_CERT = os.path.join(TMP, "rsa-cert.pem")
RSA_KEY = os.path.join(TMP, "rsa-key.pem")
# OpenSSL's SSL_OP_NO_ENCRYPT_THEN_MAC (Python's ssl module has no name for it).
OP_NO_ENCRYPT_THEN_MAC = 0x00080000
LARGE = "".join(f"line {i:05d} of a large message that spans many TLS records\n" for i in range(1800))


def openssl_conf(ciphersuites=None, groups=None):
    """An OPENSSL_CONF file that restricts TLS 1.3 suites or groups for one process."""
    path = os.path.join(TMP, f"openssl-{ciphersuites}-{groups}.cnf")
    lines = ["openssl_conf = default_conf", "[default_conf]", "ssl_conf = ssl_sect", "[ssl_sect]",
             "system_default = system_default_sect", "[system_default_sect]"]
    if ciphersuites:
        lines.append(f"Ciphersuites = {ciphersuites}")
    if groups:
        lines.append(f"Groups = {groups}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def server_main(port, keys, max_version, ciphers, options=""):
    """The websockets echo server (run in a child process). `options`: comma-separated
    "rsa" (serve the RSA certificate), "no-etm" (refuse RFC 7366 encrypt-then-MAC) and
    "no-ticket" (no session tickets: TLS 1.2 resumes by session ID from the server's cache)."""
    options = set(filter(None, options.split(",")))
    from websockets.asyncio.server import serve

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async def run():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if "rsa" in options:
            ctx.load_cert_chain(RSA_CERT, RSA_KEY)
        else:
            ctx.load_cert_chain(CERT, KEY)
        if "no-etm" in options:
            ctx.options |= OP_NO_ENCRYPT_THEN_MAC
        if "no-ticket" in options:
            ctx.options |= ssl.OP_NO_TICKET
        ctx.keylog_filename = keys
        if max_version == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if ciphers:
            ctx.set_ciphers(ciphers)
        async with serve(echo, "127.0.0.1", port, ssl=ctx, compression="deflate"):
            await asyncio.sleep(30)

    asyncio.run(run())


def client_ctx(keys, ciphers=None):
    ctx = ssl.create_default_context(cafile=CERT)
    ctx.load_verify_locations(cafile=RSA_CERT)
    ctx.keylog_filename = keys
    if ciphers:
        # Python's default client list leaves out SHA-1 MACs and RSA key exchange.
        ctx.set_ciphers(ciphers)
    return ctx


def message_entry(message):
    data = message.encode() if isinstance(message, str) else message
    return {"opcode": "text" if isinstance(message, str) else "binary", "length": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


async def websocket_session(port, keys, ciphers=None, log_path=None):
    """text, binary, a 108 KB text message (compressed to a few KB), 40 000 incompressible
    bytes (three 16 KiB records each way), ping, close 1000. With `log_path`, what the client
    sent and received is written there as JSON."""
    from websockets.asyncio.client import connect

    sent, received = [], []
    async with connect(f"wss://localhost:{port}/tls-echo", ssl=client_ctx(keys, ciphers),
                       compression="deflate") as ws:
        for message in ("hello over TLS", bytes(range(256)), LARGE, random.Random(7).randbytes(40000)):
            await ws.send(message)
            sent.append(message_entry(message))
            received.append(message_entry(await ws.recv()))
        pong = await ws.ping(b"tls-rtt")
        await pong
        await ws.close(1000, "done")
        ssl_object = ws.transport.get_extra_info("ssl_object")
        cipher, version = ssl_object.cipher()[0], ssl_object.version()
    if log_path:
        log = {"cipher": cipher, "tls_version": version, "sent": sent, "received": received,
               "ping": "tls-rtt", "close": {"code": 1000, "reason": "done"}}
        with open(log_path, "w") as f:
            json.dump(log, f, indent=1)
        os.chmod(log_path, 0o644)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_capture(path, port):
    cap = subprocess.Popen(
        ["dumpcap", "-q", "-P", "-B", "64", "-i", "lo", "-f", f"tcp port {port}", "-w", path],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    return cap


def stop_capture(cap, path):
    time.sleep(0.5)
    cap.terminate()
    cap.wait()
    os.chmod(path, 0o644)


def websocket_capture(name, server_conf=None, max_version=None, ciphers=None, server_options="", log=False):
    pcap = os.path.join(HERE, f"{name}.pcap")
    keys = os.path.join(HERE, f"{name}.keys")
    log_path = os.path.join(HERE, f"{name}.peers.json") if log else None
    for p in (pcap, keys):
        if os.path.exists(p):
            os.remove(p)
    port = free_port()
    env = dict(os.environ)
    if server_conf:
        env["OPENSSL_CONF"] = server_conf
    cap = start_capture(pcap, port)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), keys, max_version or "", ciphers or "", server_options],
        env=env,
    )
    try:
        time.sleep(1.5)
        asyncio.run(websocket_session(port, keys, ciphers, log_path))
    finally:
        server.terminate()
        server.wait()
        stop_capture(cap, pcap)
    os.chmod(keys, 0o644)
    print(f"wrote {pcap} ({os.path.getsize(pcap)} bytes) and {keys}")
    return pcap, keys


def masked_frame(opcode, payload, mask=b"\x11\x22\x33\x44"):
    assert len(payload) < 126
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def keyupdate_capture():
    """openssl s_client hand-drives a WebSocket session against the websockets server and
    sends KeyUpdates: 'K' (update requested: both directions update) and 'k' (client only)."""
    name = "tls13-keyupdate-openssl-client"
    pcap = os.path.join(HERE, f"{name}.pcap")
    keys = os.path.join(HERE, f"{name}.keys")
    for p in (pcap, keys):
        if os.path.exists(p):
            os.remove(p)
    port = free_port()
    cap = start_capture(pcap, port)
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), keys, "", ""])
    try:
        time.sleep(1.5)
        client = subprocess.Popen(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
             "-CAfile", CERT, "-tls1_3", "-keylogfile", keys],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        def send(data, pause=0.4):
            client.stdin.write(data)
            client.stdin.flush()
            time.sleep(pause)

        time.sleep(1.0)
        send(b"GET /keyupdate HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 0.8)
        send(masked_frame(1, b"before any key update"))
        send(b"K\n")
        send(masked_frame(1, b"after KeyUpdate with update_requested"))
        send(b"k\n")
        send(masked_frame(1, b"after a client-only KeyUpdate"))
        send(masked_frame(8, b"\x03\xe8bye"), 0.8)
        client.stdin.close()
        client.wait(timeout=10)
    finally:
        server.terminate()
        server.wait()
        stop_capture(cap, pcap)
    os.chmod(keys, 0o644)
    print(f"wrote {pcap} ({os.path.getsize(pcap)} bytes) and {keys}")


def bench_server_main(port, keys, use_tls, ciphers=""):
    """An echo server without compression for the benchmark captures (`ciphers`: TLS 1.2
    with that OpenSSL cipher list)."""
    from websockets.asyncio.server import serve

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async def run():
        ctx = None
        if use_tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(CERT, KEY)
            ctx.keylog_filename = keys
            if ciphers:
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_ciphers(ciphers)
        async with serve(echo, "127.0.0.1", port, ssl=ctx, compression=None, max_size=None):
            await asyncio.sleep(3600)

    asyncio.run(run())


def bench_capture(out_dir, size_mb, use_tls, ciphers="", small=False):
    """The same echo workload (binary messages of 1 to 64 KiB, each way) over wss:// or
    ws://, about `size_mb` MB of capture: scripts/bench.sh compares their decode times.
    `ciphers` (an OpenSSL TLS 1.2 cipher list, e.g. ECDHE-ECDSA-AES128-SHA) names the file
    `tls12-CIPHERS-bench-…`. `small`: text messages of 40 to 400 bytes instead (JSON-like,
    as chat and market-data apps send them), sent in bursts of 64 before their echoes are
    read, named `…-small-bench-…`."""
    from websockets.asyncio.client import connect

    name = (f"tls12-{ciphers.lower()}-bench" if ciphers else "tls-bench") if use_tls else "clear-bench"
    if small:
        name = name.replace("-bench", "-small-bench")
    pcap = os.path.join(out_dir, f"{name}-{size_mb}MB.pcap")
    keys = os.path.join(out_dir, f"{name}-{size_mb}MB.keys")
    port = free_port()
    cap = subprocess.Popen(
        ["dumpcap", "-q", "-P", "-B", "512", "-i", "lo", "-f", f"tcp port {port}", "-w", pcap],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    server = subprocess.Popen(
        [sys.executable, __file__, "--bench-serve", str(port), keys, "1" if use_tls else "0", ciphers]
    )
    rng = random.Random(11)
    payloads = [rng.randbytes(rng.randrange(1024, 65536)) for _ in range(64)]
    if small:
        payloads = [
            '{"seq":%d,"type":"%s","symbol":"%s","price":%.4f,"note":"%s"}'
            % (i, rng.choice(["quote", "trade", "chat"]), rng.choice(["EURUSD", "BTC-USD", "日経225"]),
               rng.uniform(1, 70000), "x" * rng.randrange(0, 330))
            for i in range(256)
        ]

    async def session():
        uri = f"{'wss' if use_tls else 'ws'}://localhost:{port}/bench"
        kwargs = {"ssl": client_ctx(keys, ciphers or None)} if use_tls else {}
        async with connect(uri, compression=None, max_size=None, **kwargs) as ws:
            sent = 0
            i = 0
            burst = 64 if small else 1
            while sent < size_mb * 1_000_000 // 2:
                for _ in range(burst):
                    p = payloads[i % len(payloads)]
                    await ws.send(p)
                    sent += len(p)
                    i += 1
                for _ in range(burst):
                    await ws.recv()

    try:
        time.sleep(1.5)
        asyncio.run(session())
    finally:
        server.terminate()
        server.wait()
        time.sleep(1.0)
        cap.terminate()
        cap.wait()
    print(pcap)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        server_main(int(sys.argv[2]), *sys.argv[3:7])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--bench-serve":
        bench_server_main(int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1", *sys.argv[5:6])
        return
    make_certificate()
    if len(sys.argv) > 1 and sys.argv[1] == "--bench":
        # make_tls_captures.py --bench DIR SIZE_MB: the benchmark pair (not kept in captures/).
        # --bench-cbc DIR SIZE_MB CIPHERS: the TLS one only, TLS 1.2 with that CBC suite.
        bench_capture(sys.argv[2], int(sys.argv[3]), True)
        bench_capture(sys.argv[2], int(sys.argv[3]), False)
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--bench-small":
        # --bench-small DIR SIZE_MB: small text messages, over wss:// and ws://.
        bench_capture(sys.argv[2], int(sys.argv[3]), True, small=True)
        bench_capture(sys.argv[2], int(sys.argv[3]), False, small=True)
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--bench-cbc":
        bench_capture(sys.argv[2], int(sys.argv[3]), True, sys.argv[4])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--cbc":
        cbc_recordings()
        return
    recordings()


def make_certificate():
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", KEY, "-out", CERT, "-days", "3650", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, stderr=subprocess.DEVNULL,
    )
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", RSA_KEY, "-out", RSA_CERT,
         "-days", "3650", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
        check=True, stderr=subprocess.DEVNULL,
    )


def recordings():
    websocket_capture("tls13-aes128gcm", openssl_conf("TLS_AES_128_GCM_SHA256"))
    websocket_capture("tls13-aes256gcm", openssl_conf("TLS_AES_256_GCM_SHA384"))
    websocket_capture("tls13-chacha20", openssl_conf("TLS_CHACHA20_POLY1305_SHA256"))
    websocket_capture("tls12-ecdhe-aes128gcm", max_version="1.2", ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    websocket_capture("tls12-ecdhe-aes256gcm", max_version="1.2", ciphers="ECDHE-ECDSA-AES256-GCM-SHA384")
    websocket_capture("tls12-ecdhe-chacha20", max_version="1.2", ciphers="ECDHE-ECDSA-CHACHA20-POLY1305")
    # The server accepts only P-256: the client's X25519 key share earns a HelloRetryRequest.
    websocket_capture("tls13-hello-retry", openssl_conf(None, "P-256"))
    keyupdate_capture()
    cbc_recordings()
    # Secrets inside the file: a pcapng with a Decryption Secrets Block, no key log needed.
    src = os.path.join(HERE, "tls13-aes128gcm.pcap")
    dsb = os.path.join(HERE, "tls13-aes128gcm-dsb.pcapng")
    subprocess.run(["editcap", "--inject-secrets", f"tls,{src[:-5]}.keys", src, dsb], check=True)
    os.chmod(dsb, 0o644)
    print(f"wrote {dsb} ({os.path.getsize(dsb)} bytes)")


def cbc_recordings():
    """TLS 1.2 AES-CBC: OpenSSL negotiates encrypt-then-MAC (RFC 7366) unless told not to."""
    websocket_capture("tls12-ecdhe-rsa-aes128-sha", max_version="1.2", ciphers="ECDHE-RSA-AES128-SHA",
                      server_options="rsa", log=True)
    websocket_capture("tls12-ecdhe-rsa-aes256-sha384", max_version="1.2", ciphers="ECDHE-RSA-AES256-SHA384",
                      server_options="rsa", log=True)
    websocket_capture("tls12-rsa-aes128-sha256-no-etm", max_version="1.2", ciphers="AES128-SHA256",
                      server_options="rsa,no-etm", log=True)
    websocket_capture("tls12-ecdhe-ecdsa-aes256-sha-no-etm", max_version="1.2", ciphers="ECDHE-ECDSA-AES256-SHA",
                      server_options="no-etm", log=True)


if __name__ == "__main__":
    main()
