// An RFC 8441 server on Node's own `http2` (settings.enableConnectProtocol) with the `ws`
// library speaking WebSocket on each extended CONNECT stream (ws accepts any Duplex through
// setSocket, as its WebSocketServer does after an HTTP/1.1 upgrade). Serves what
// make_h2_captures.py's client expects of Hypercorn: an echo on /ws…, 403 on /refuse,
// "hello over HTTP/2\n" on GET /hello.
// Usage: node h2_websocket_server.js HOST PORT TLS(1|0) CERT KEY. Prints "listening" when ready.
const fs = require('fs');
const http2 = require('http2');
const { WebSocket } = require('ws');

const [host, port, tls, cert, key] = process.argv.slice(2);
const settings = { enableConnectProtocol: true };
const server = tls === '1'
  ? http2.createSecureServer({ settings, cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http2.createServer({ settings });

server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  if (headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket') {
    if (headers[':path'] === '/refuse') {
      stream.respond({ ':status': 403 }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200 });
    const ws = new WebSocket(null, undefined, { autoPong: true });
    ws.setSocket(stream, Buffer.alloc(0), { allowSynchronousEvents: true, maxPayload: 64 << 20 });
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    return;
  }
  if (headers[':path'] === '/hello') {
    const body = 'hello over HTTP/2\n';
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': body.length });
    stream.end(body);
    return;
  }
  stream.respond({ ':status': 404 }, { endStream: true });
});
server.listen(Number(port), host, () => console.log('listening'));
