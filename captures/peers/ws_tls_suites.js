// Node `ws` over TLS, one connection per forced TLS version and cipher suite, each with the
// same echo session. Run with `node --tls-keylog=KEYS`: Node writes every connection's
// secrets (client and server side) to KEYS. Prints the client's log as JSON on stdout.
// Usage: node --tls-keylog=KEYS ws_tls_suites.js CERT KEY
const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const { WebSocket, WebSocketServer } = require('ws');

const [certFile, keyFile] = process.argv.slice(2);
const cert = fs.readFileSync(certFile);
const key = fs.readFileSync(keyFile);
// Node takes TLS 1.3 suite names in `ciphers` too; maxVersion picks the protocol.
const RUNS = [
  { version: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' },
  { version: 'TLSv1.3', ciphers: 'TLS_AES_256_GCM_SHA384' },
  { version: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' },
  { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' },
  { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' },
];

function entry(data, isBinary) {
  const bytes = Buffer.from(data);
  return { opcode: isBinary ? 'binary' : 'text', length: bytes.length,
           sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
}

function session(port, run) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${port}/node-${run.ciphers}`, {
      ca: cert, ciphers: run.ciphers, minVersion: run.version, maxVersion: run.version,
    });
    // text, 256 binary bytes, 20 000 pseudo-random bytes (two TLS records), 30 000 bytes of text.
    const messages = [
      [`hello over ${run.ciphers}`, false],
      [Buffer.from([...Array(256).keys()]), true],
      [crypto.createHash('sha512').update(run.ciphers).digest().toString('hex').repeat(160).slice(0, 20000), false],
      [Buffer.concat([...Array(235)].map((_, i) => crypto.createHash('sha512').update(`${run.ciphers}${i}`).digest())).subarray(0, 15000), true],
    ];
    const log = { cipher: run.ciphers, tls_version: run.version, sent: [], received: [] };
    let next = 0;
    const sendNext = () => {
      if (next < messages.length) {
        const [data, binary] = messages[next++];
        log.sent.push(entry(data, binary));
        ws.send(data, { binary });
      } else {
        ws.ping('node-rtt');
      }
    };
    ws.on('open', () => {
      log.negotiated = ws._socket.getCipher().standardName;
      log.protocol = ws._socket.getProtocol();
      sendNext();
    });
    ws.on('message', (data, isBinary) => { log.received.push(entry(data, isBinary)); sendNext(); });
    ws.on('pong', () => ws.close(1000, 'done'));
    ws.on('close', (code, reason) => { log.close = { code, reason: reason.toString() }; resolve(log); });
    ws.on('error', reject);
  });
}

async function main() {
  const server = https.createServer({ cert, key, minVersion: 'TLSv1.2' });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise((resolve) => server.listen(Number(process.env.PORT), '127.0.0.1', resolve));
  const logs = [];
  for (const run of RUNS) logs.push(await session(server.address().port, run));
  console.log(JSON.stringify(logs));
  wss.close();
  server.close();
}
main().catch((e) => { console.error(e); process.exit(1); });
