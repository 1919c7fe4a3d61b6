#!/usr/bin/env python3
"""Records a real browser's wss:// traffic on the loopback interface: headless Chromium (Debian's
`chromium`, SSLKEYLOGFILE set) loads `browser_page.html` from Hypercorn over TLS; the page opens
two WebSockets on its own origin, sends text (non-Latin too), binary and >64 KiB messages on
each (Chromium offers permessage-deflate; Hypercorn accepts it), gets the echoes, fetches
/hello twice beside them, closes both with 1000 "done" and POSTs what it sent and received to
/log, which the server writes as NAME.peers.json (the tests' ground truth).

Captures (each with NAME.keys, Chromium's key log, and NAME.peers.json):
- chromium-h2-tls-two-websockets: the server offers ALPN h2 only, so the page and both
  WebSockets share one HTTP/2 connection (RFC 8441 extended CONNECT, Hypercorn sends
  SETTINGS_ENABLE_CONNECT_PROTOCOL); also injected as a pcapng Decryption Secrets Block
  (chromium-h2-tls-dsb.pcapng, editcap --inject-secrets);
- chromium-http1-tls-two-websockets: the server offers http/1.1 only: a browser's ordinary
  wss://, each WebSocket its own TLS connection with an HTTP/1.1 Upgrade.

The certificate is trusted by its public key hash (--ignore-certificate-errors-spki-list, which
needs --user-data-dir); host names other than localhost resolve to nothing, so the capture
holds only this page's traffic. Helpers (certificate, Hypercorn, free ports) come from
make_h2_captures.py.
Needs: Debian's chromium and tshark (dumpcap, editcap); pip install hypercorn; openssl; root.
Run from this folder: sudo python3 make_browser_captures.py [--out DIR] [--only NAME]
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_h2_captures as h2  # noqa: E402  (cert, Hypercorn, free_port)

PAGE = os.path.join(HERE, "browser_page.html")


def browser_app(log_path):
    """The ASGI app: the page, a WebSocket echo at /ws, GET /hello, POST /log (written to log_path)."""

    async def app(scope, receive, send):
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            while True:
                event = await receive()
                if event["type"] != "websocket.receive":
                    return
                await send({"type": "websocket.send", "text": event.get("text"), "bytes": event.get("bytes")})
        elif scope["type"] == "http":
            body = b""
            while True:
                event = await receive()
                body += event.get("body", b"")
                if not event.get("more_body"):
                    break
            status, kind, answer = 404, b"text/plain", b"not here\n"
            if scope["path"] == "/":
                with open(PAGE, "rb") as f:
                    status, kind, answer = 200, b"text/html; charset=utf-8", f.read()
            elif scope["path"] == "/hello":
                status, answer = 200, f"hello over HTTP/{scope['http_version']}\n".encode()
            elif scope["path"] == "/log" and scope["method"] == "POST":
                log = json.loads(body)
                log["http_version"] = scope["http_version"]
                with open(log_path, "w") as f:
                    json.dump(log, f, indent=1, ensure_ascii=False)
                    f.write("\n")
                status, answer = 200, b"logged\n"
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", kind), (b"content-length", str(len(answer)).encode()),
                                    (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": answer})
        elif scope["type"] == "lifespan":
            await h2.app(scope, receive, send)

    return app


def spki_hash(cert):
    """base64(SHA-256(SubjectPublicKeyInfo)): what --ignore-certificate-errors-spki-list takes."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, check=True,
                         capture_output=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, check=True,
                            capture_output=True).stdout
    return base64.b64encode(digest).decode()


def chromium_command(profile, url, extra=()):
    """Headless Chromium that trusts our certificate, talks to localhost only, and leaves after
    nothing of its own on the wire (no component updates, sync, safe browsing or proxies)."""
    return ["nice", "-n", "19", shutil.which("chromium") or "chromium", "--headless=new", "--no-sandbox",
            f"--user-data-dir={profile}", f"--ignore-certificate-errors-spki-list={spki_hash(h2.CERT)}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost", "--no-proxy-server",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-features=OptimizationHints,MediaRouter,Translate,DialMediaRouteProvider",
            *extra, url]


def wait_for(path, limit):
    deadline = time.time() + limit
    while time.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return True
        time.sleep(0.2)
    return False


def record(out, name, alpn, dsb=None):
    pcap = os.path.join(out, f"{name}.pcap")
    keys = os.path.join(out, f"{name}.keys")
    log = os.path.join(out, f"{name}.peers.json")
    for p in (pcap, keys, log):
        if os.path.exists(p):
            os.remove(p)
    port = h2.free_port("127.0.0.1")
    cap = subprocess.Popen(["dumpcap", "-q", "-P", "-B", "512", "-i", "lo", "-f", f"tcp port {port}", "-w", pcap],
                           stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), ",".join(alpn), log])
    profile = tempfile.mkdtemp(prefix="framescope-chromium-")
    browser = None
    try:
        time.sleep(2.0)
        env = dict(os.environ, SSLKEYLOGFILE=keys, HOME=profile)
        browser = subprocess.Popen(chromium_command(profile, f"https://localhost:{port}/"), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(log, 60):
            raise SystemExit(f"{name}: the page did not log within 60 s")
        time.sleep(1.0)
    finally:
        if browser:
            browser.terminate()
            browser.wait()
        time.sleep(0.5)
        server.terminate()
        server.wait()
        time.sleep(0.5)
        cap.terminate()
        cap.wait()
        shutil.rmtree(profile, ignore_errors=True)
    for p in (pcap, keys, log):
        if os.path.exists(p):
            os.chmod(p, 0o644)
    with open(log) as f:
        logged = json.load(f)
    for ws in logged["websockets"]:
        print(f"  {ws['path']}: extensions {ws.get('extensions')!r}, sent {len(ws['sent'])}, "
              f"received {len(ws['received'])}, clean {ws.get('clean')}")
    print(f"  page over HTTP/{logged['http_version']}; {logged['user_agent']}")
    print(f"wrote {pcap} ({os.path.getsize(pcap)} bytes)")
    if dsb:
        target = os.path.join(out, f"{dsb}.pcapng")
        subprocess.run(["editcap", "--inject-secrets", f"tls,{keys}", pcap, target], check=True)
        os.chmod(target, 0o644)
        shutil.copyfile(log, os.path.join(out, f"{dsb}.peers.json"))
        print(f"wrote {target} ({os.path.getsize(target)} bytes)")


RUNS = [
    ("chromium-h2-tls-two-websockets", dict(alpn=("h2",), dsb="chromium-h2-tls-dsb")),
    ("chromium-http1-tls-two-websockets", dict(alpn=("http/1.1",))),
]


def main():
    args = sys.argv[1:]
    if args and args[0] == "--serve":
        port, alpn, log = int(args[1]), tuple(args[2].split(",")), args[3]
        h2.serve("127.0.0.1", port, True, asgi_app=browser_app(log), alpn=alpn)
        return
    out, only = HERE, None
    while args:
        if args[0] == "--out" and len(args) > 1:
            out, args = args[1], args[2:]
        elif args[0] == "--only" and len(args) > 1:
            only, args = args[1], args[2:]
        else:
            sys.exit(f"unknown argument {args[0]}")
    h2.make_cert()
    for name, kw in RUNS:
        if only in (None, name):
            record(out, name, **kw)


if __name__ == "__main__":
    main()
