// An RFC 8441 client on Node's own `http2`: once the server's SETTINGS allow extended
// CONNECT, two WebSocket streams (`:protocol websocket`) with `ws` speaking WebSocket on
// each, a plain GET /hello beside them and a CONNECT to /refuse. Prints its log as JSON on
// stdout, in make_h2_captures.py's peer-log format.
// Usage: node [--tls-keylog=KEYS] h2_websocket_client.js URL CA
const fs = require('fs');
const http2 = require('http2');
const { WebSocket } = require('ws');

const [url, ca] = process.argv.slice(2);

function entry(opcode, data) {
  const bytes = Buffer.from(data);
  if (opcode === 'text') {
    const text = bytes.toString();
    return text.length > 64 && new Set(text).size === 1
      ? { opcode, repeat: text[0], times: text.length }
      : { opcode, text };
  }
  return { opcode, hex: bytes.toString('hex') };
}

function request(session, headers) {
  return new Promise((resolve) => {
    const stream = session.request(headers);
    let response = {};
    let data = '';
    stream.on('response', (h) => { response = h; if (headers[':method'] === 'CONNECT') resolve({ stream, response }); });
    stream.on('data', (d) => { data += d; });
    stream.on('end', () => resolve({ stream, response, body: data }));
    stream.on('error', () => resolve({ stream, response }));
  });
}

// `ws` runs on any Duplex through setSocket, as its server does after an HTTP/1.1 upgrade.
// A WebSocket made without an address is a server-side one: turned into a client (masking
// its frames, expecting unmasked ones) before the stream is attached.
function websocketOn(stream) {
  const ws = new WebSocket(null, undefined, { autoPong: true });
  ws._isServer = false;
  ws.setSocket(stream, Buffer.alloc(0), { allowSynchronousEvents: true, maxPayload: 64 << 20 });
  return ws;
}

function talk(ws, messages) {
  return new Promise((resolve) => {
    const log = { sent: [], received: [] };
    let next = 0;
    const sendNext = () => {
      if (next < messages.length) {
        const [data, binary] = messages[next++];
        log.sent.push(entry(binary ? 'binary' : 'text', data));
        ws.send(data, { binary });
      } else {
        log.sent.push({ opcode: 'close', code: 1000, reason: 'done' });
        ws.close(1000, 'done');
      }
    };
    ws.on('message', (data, isBinary) => { log.received.push(entry(isBinary ? 'binary' : 'text', data)); sendNext(); });
    ws.on('close', (code, reason) => {
      log.received.push({ opcode: 'close', code, reason: reason.toString() });
      resolve(log);
    });
    ws.on('error', () => {});
    sendNext();
  });
}

async function main() {
  const session = http2.connect(url, { ca: ca ? fs.readFileSync(ca) : undefined });
  session.on('error', (e) => { console.error(e); process.exit(1); });
  await new Promise((resolve) => session.once('remoteSettings', resolve));
  const authority = new URL(url).host;
  const scheme = url.startsWith('https') ? 'https' : 'http';
  const connect = (path) => request(session, {
    ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': scheme, ':path': path,
    ':authority': authority, 'sec-websocket-version': '13',
  });
  const a = await connect('/ws?stream=a');
  const b = await connect('/ws?stream=b');
  // Node ends a GET's stream with its HEADERS (END_STREAM) by itself.
  const get = await request(session, { ':method': 'GET', ':scheme': scheme, ':path': '/hello', ':authority': authority });
  const refused = await connect('/refuse');
  // Both WebSockets open at once, each conversation in turn.
  const wsA = websocketOn(a.stream);
  const wsB = websocketOn(b.stream);
  const logs = [
    await talk(wsB, [['hello from node on stream b', false], ['y'.repeat(20000), false]]),
    await talk(wsA, [['hello from node on stream a', false], [Buffer.from([...Array(256).keys()]), true]]),
  ].reverse();
  const websockets = [[a, '/ws?stream=a', logs[0]], [b, '/ws?stream=b', logs[1]]].map(([r, path, log]) => ({
    stream: r.stream.id, path, status: r.response[':status'], extensions: '', ...log,
  }));
  refused.stream.close();
  console.log(JSON.stringify({
    websockets,
    refused: { stream: refused.stream.id, path: '/refuse', status: refused.response[':status'] },
    get: { stream: get.stream.id, path: '/hello', status: get.response[':status'], body: get.body },
  }));
  session.close();
}
main().catch((e) => { console.error(e); process.exit(1); });
