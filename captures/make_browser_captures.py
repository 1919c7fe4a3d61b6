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
  wss://, each WebSocket its own TLS connection with an HTTP/1.1 Upgrade;
- chromium-h2-tls12-chacha20-ipv6: as the first, the server on [::1] capped at TLS 1.2 with
  ECDHE-ECDSA-CHACHA20-POLY1305;
- firefox-h2-tls-two-websockets: the first with headless Firefox ESR (skipped when Debian's
  firefox-esr is not installed; its profile trusts the script's CA through certutil);
- chromium-devtools.har (no capture): Chromium's own HAR of the HTTP/2 page, written by the
  DevTools front end's HAR writer (what "Save all as HAR" runs), driven over the DevTools
  protocol.
Hypercorn pings each WebSocket (Chromium answers); stream b negotiates subprotocol chat.v2.

Chromium trusts the certificate by its public key hash (--ignore-certificate-errors-spki-list,
which needs --user-data-dir) and resolves no host name but localhost, so the capture holds only
this page's traffic. Helpers (certificate, Hypercorn, free ports) come from
make_h2_captures.py.
Needs: Debian's chromium and tshark (dumpcap, editcap), for Firefox firefox-esr and libnss3-tools;
pip install hypercorn; openssl; root (make browser-deps installs them).
Run from this folder: sudo python3 make_browser_captures.py [--out DIR] [--only NAME] [--port N]
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
import make_h2_captures as h2  # noqa: E402  (cert, Hypercorn and its capture, free_port)

PAGE = os.path.join(HERE, "browser_page.html")


def browser_app(log_path):
    """The ASGI app: the page, a WebSocket echo at /ws, GET /hello, POST /log (written to log_path)."""

    async def app(scope, receive, send):
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            # The first subprotocol the page offers, if any (stream b offers two).
            offered = scope.get("subprotocols") or []
            await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
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


CA = os.path.join(h2.TMP, "ca.pem")


def make_ca_signed_cert():
    """A throw-away CA and a localhost certificate it signs, written where make_h2_captures.py's
    Hypercorn looks (h2.CERT, h2.KEY). Chromium trusts the leaf by its key hash; Firefox
    refuses a self-signed CA certificate as a server's, so its profile trusts the CA."""
    ca_key = os.path.join(h2.TMP, "ca-key.pem")
    csr = os.path.join(h2.TMP, "leaf.csr")
    ext = os.path.join(h2.TMP, "leaf.ext")
    quiet = dict(check=True, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", ca_key, "-out", CA, "-days", "3650", "-subj", "/CN=framescope test CA"],
                   **quiet)
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", h2.KEY, "-out", csr, "-subj", "/CN=localhost"], **quiet)
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", CA, "-CAkey", ca_key, "-CAcreateserial",
                    "-out", h2.CERT, "-days", "3650", "-extfile", ext], **quiet)


def firefox_command(profile, url):
    """Headless Firefox ESR on a profile of its own that trusts our CA (certutil)."""
    subprocess.run(["certutil", "-N", "-d", f"sql:{profile}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{profile}", "-n", "framescope test CA", "-t", "C,,", "-i", CA],
                   check=True)
    prefs = {
        "network.http.http2.websockets": True,  # RFC 8441 (the default; said for clarity)
        "network.proxy.type": 0,
        "browser.shell.checkDefaultBrowser": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "toolkit.telemetry.reportingpolicy.firstRun": False,
        "app.update.enabled": False,
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
    }
    with open(os.path.join(profile, "user.js"), "w") as f:
        for name, value in prefs.items():
            f.write(f"user_pref({json.dumps(name)}, {json.dumps(value)});\n")
    return ["nice", "-n", "19", shutil.which("firefox-esr") or "firefox", "--headless", "--no-remote",
            "--profile", profile, url]


def wait_for(path, limit):
    deadline = time.time() + limit
    while time.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return True
        time.sleep(0.2)
    return False


def tls12_only_conf():
    """An OPENSSL_CONF file that caps the server process at TLS 1.2 (Hypercorn has no setting)."""
    path = os.path.join(h2.TMP, "openssl-tls12.cnf")
    with open(path, "w") as f:
        f.write("openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n[ssl_sect]\n"
                "system_default = system_default_sect\n[system_default_sect]\nMaxProtocol = TLSv1.2\n")
    return path


def record(out, name, alpn, dsb=None, host="127.0.0.1", tls12_cipher=None, port=None, agent="chromium"):
    pcap, keys, log = h2.outputs(out, name)
    port = port or h2.free_port(host)
    server_env = dict(os.environ, OPENSSL_CONF=tls12_only_conf()) if tls12_cipher else None
    server = ([sys.executable, __file__, "--serve", host, str(port), ",".join(alpn), log]
              + ([tls12_cipher] if tls12_cipher else []))
    profile = tempfile.mkdtemp(prefix="framescope-chromium-")
    try:
        with h2.capturing_server(pcap, port, server, server_env):
            env = dict(os.environ, SSLKEYLOGFILE=keys, HOME=profile)
            url = f"https://localhost:{port}/"
            command = firefox_command(profile, url) if agent == "firefox" else chromium_command(profile, url)
            browser = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                if not wait_for(log, 60):
                    raise SystemExit(f"{name}: the page did not log within 60 s")
                time.sleep(1.0)
            finally:
                browser.terminate()
                browser.wait()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    h2.publish((pcap, keys, log))
    with open(log) as f:
        logged = json.load(f)
    for ws in logged["websockets"]:
        print(f"  {ws['path']}: extensions {ws.get('extensions')!r}, sent {len(ws['sent'])}, "
              f"received {len(ws['received'])}, clean {ws.get('clean')}")
    print(f"  page over HTTP/{logged['http_version']}; {logged['user_agent']}")
    print(f"wrote {pcap} ({os.path.getsize(pcap)} bytes)")
    if dsb:
        h2.with_secrets(out, dsb, pcap, keys, log)


def devtools_targets(profile, limit=20):
    """The DevTools HTTP endpoint's target list (the port Chromium chose is in DevToolsActivePort)."""
    import urllib.request

    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            with open(os.path.join(profile, "DevToolsActivePort")) as f:
                port = int(f.readline())
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as r:
                targets = json.load(r)
            if any(t["url"].startswith("devtools://") for t in targets):
                return targets
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    raise SystemExit("Chromium's DevTools did not come up")


def cdp_evaluate(target, expression, timeout=30):
    """Runtime.evaluate in a target (awaiting a promise), over the DevTools protocol."""
    from websockets.sync.client import connect

    with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout) as ws:
        ws.send(json.dumps({"id": 1, "method": "Runtime.evaluate",
                            "params": {"expression": expression, "awaitPromise": True, "returnByValue": True}}))
        deadline = time.time() + timeout
        while time.time() < deadline:
            reply = json.loads(ws.recv(timeout=max(0.1, deadline - time.time())))
            if reply.get("id") == 1:
                result = reply.get("result", {})
                if "exceptionDetails" in result or "error" in reply:
                    raise SystemExit(f"DevTools evaluation failed: {reply}")
                return result["result"].get("value")
    raise SystemExit("DevTools evaluation timed out")


# Run inside the DevTools front end: the HAR string its Network panel's "Save all as HAR (with
# sensitive data)" writes, from the requests its network log holds.
HAR_EXPRESSION = """(async () => {
  const Common = await import('./core/common/common.js');
  const Logs = await import('./models/logs/logs.js');
  const HAR = await import('./models/har/har.js');
  const requests = Logs.NetworkLog.NetworkLog.instance().requests();
  const progress = new Common.Progress.CompositeProgress(new Common.Progress.Progress());
  return await HAR.Writer.Writer.harStringForRequests(requests, {sanitize: false}, progress);
})()"""


def record_har(out, name):
    """Chromium's own HAR: DevTools is opened on the tab before the page loads (so its network
    log sees every request and WebSocket frame), the page runs, and the DevTools front end's
    HAR writer (what "Save all as HAR" runs) produces NAME.har; NAME.peers.json beside it."""
    har = os.path.join(out, f"{name}.har")
    log = os.path.join(out, f"{name}.peers.json")
    for p in (har, log):
        if os.path.exists(p):
            os.remove(p)
    port = h2.free_port("127.0.0.1")
    server = subprocess.Popen([sys.executable, __file__, "--serve", "127.0.0.1", str(port), "h2", log])
    profile = tempfile.mkdtemp(prefix="framescope-chromium-")
    browser = None
    try:
        time.sleep(2.0)
        env = dict(os.environ, HOME=profile)
        extra = ["--remote-debugging-port=0", "--auto-open-devtools-for-tabs"]
        browser = subprocess.Popen(chromium_command(profile, "about:blank", extra), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        targets = devtools_targets(profile)
        front_end = next(t for t in targets if t["url"].startswith("devtools://"))
        page = next(t for t in targets if t["type"] == "page" and t["url"] == "about:blank")
        # The front end is up once its network log answers (before, its settings do not exist).
        # "Preserve log" on: the move from about:blank to the page's origin swaps the renderer,
        # and without it the network log was sometimes cleared after the page's first requests.
        probe = ("(async () => { try { const Logs = await import('./models/logs/logs.js');"
                 " const Common = await import('./core/common/common.js');"
                 " Common.Settings.Settings.instance().moduleSetting('network-log.preserve-log').set(true);"
                 " return Logs.NetworkLog.NetworkLog.instance().requests().length; } catch (e) { return -1; } })()")
        deadline = time.time() + 30
        while cdp_evaluate(front_end, probe) == -1:
            if time.time() > deadline:
                raise SystemExit("the DevTools front end did not start")
            time.sleep(0.5)
        cdp_evaluate(page, f"location.href = 'https://localhost:{port}/'")
        if not wait_for(log, 60):
            raise SystemExit(f"{name}: the page did not log within 60 s")
        time.sleep(1.0)
        text = cdp_evaluate(front_end, HAR_EXPRESSION)
        with open(har, "w") as f:
            f.write(text)
    finally:
        if browser:
            browser.terminate()
            browser.wait()
        server.terminate()
        server.wait()
        shutil.rmtree(profile, ignore_errors=True)
    for p in (har, log):
        os.chmod(p, 0o644)
    entries = json.loads(text)["log"]["entries"]
    for e in entries:
        print(f"  {e['request']['method']} {e['request']['url']} {e['response']['status']} "
              f"{len(e.get('_webSocketMessages', []))} WebSocket messages")
    print(f"wrote {har} ({os.path.getsize(har)} bytes)")


HAR = "chromium-devtools"
RUNS = [
    ("chromium-h2-tls-two-websockets", dict(alpn=("h2",), dsb="chromium-h2-tls-dsb")),
    ("chromium-http1-tls-two-websockets", dict(alpn=("http/1.1",))),
    ("chromium-h2-tls12-chacha20-ipv6", dict(alpn=("h2",), host="::1",
                                             tls12_cipher="ECDHE-ECDSA-CHACHA20-POLY1305")),
    ("firefox-h2-tls-two-websockets", dict(alpn=("h2",), agent="firefox")),
]


def main():
    args = sys.argv[1:]
    if args and args[0] == "--serve":
        host, port, alpn, log = args[1], int(args[2]), tuple(args[3].split(",")), args[4]
        ciphers = args[5] if len(args) > 5 else None
        # Hypercorn pings every WebSocket each 0.5 s: the browser's own pongs, and RTT samples.
        h2.serve(host, port, True, asgi_app=browser_app(log), alpn=alpn, ciphers=ciphers, ping_interval=0.5)
        return
    out, only, port = HERE, None, None
    while args:
        if args[0] == "--out" and len(args) > 1:
            out, args = args[1], args[2:]
        elif args[0] == "--port" and len(args) > 1:
            # The server's port (tests/browser_captures.rs captures it live as well).
            port, args = int(args[1]), args[2:]
        elif args[0] == "--only" and len(args) > 1:
            only, args = args[1], args[2:]
        else:
            sys.exit(f"unknown argument {args[0]}")
    make_ca_signed_cert()
    for name, kw in RUNS:
        if only in (None, name):
            if kw.get("agent") == "firefox" and not shutil.which("firefox-esr"):
                print(f"skipping {name}: firefox-esr is not installed")
                continue
            record(out, name, port=port, **kw)
    if only in (None, HAR):
        record_har(out, HAR)


if __name__ == "__main__":
    main()
