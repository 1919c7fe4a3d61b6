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
];

// A message as tests/common/peers.rs reads it: text or hex, over 4 KiB by length and SHA-256.
function entry(opcode, data) {
  const bytes = Buffer.from(data);
  if (bytes.length > 4096) {
    return { opcode, bytes: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
  }
  return opcode === 'text' ? { opcode, text: bytes.toString() } : { opcode, hex: bytes.toString('hex') };
}

function session(port, run) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${port}/node-${run.ciphers}`, {
      perMessageDeflate: true,
      ca: cert, ciphers: run.ciphers, minVersion: run.version, maxVersion: run.version,
    });
    // text, 256 binary bytes, 30 000 bytes of repetitive text (permessage-deflate makes it
    // small), 16 500 pseudo-random bytes (two TLS records).
    const messages = [
      [`hello over ${run.ciphers}`, false],
      [Buffer.from([...Array(256).keys()]), true],
      [crypto.createHash('sha512').update(run.ciphers).digest().toString('hex').repeat(240).slice(0, 30000), false],
      [Buffer.concat([...Array(258)].map((_, i) => crypto.createHash('sha512').update(`${run.ciphers}${i}`).digest())).subarray(0, 16500), true],
    ];
    const log = { path: `/node-${run.ciphers}`, cipher: run.ciphers, tls_version: run.version, sent: [], received: [] };
    let next = 0;
    const sendNext = () => {
      if (next < messages.length) {
        const [data, binary] = messages[next++];
        log.sent.push(entry(binary ? 'binary' : 'text', data));
        ws.send(data, { binary });
      } else {
        log.sent.push(entry('ping', 'node-rtt'));
        ws.ping('node-rtt');
      }
    };
    ws.on('open', () => {
      log.negotiated = ws._socket.getCipher().standardName;
      log.protocol = ws._socket.getProtocol();
      sendNext();
    });
    ws.on('message', (data, isBinary) => { log.received.push(entry(isBinary ? 'binary' : 'text', data)); sendNext(); });
    ws.on('pong', (data) => {
      log.received.push(entry('pong', data));
      log.sent.push({ opcode: 'close', code: 1000, reason: 'done' });
      ws.close(1000, 'done');
    });
    ws.on('close', (code, reason) => {
      log.received.push({ opcode: 'close', code, reason: reason.toString() });
      resolve(log);
    });
    ws.on('error', reject);
  });
}

async function main() {
  const server = https.createServer({ cert, key, minVersion: 'TLSv1.2' });
  const wss = new WebSocketServer({ server, perMessageDeflate: true });
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
