// Node `ws` echo server (the third-party library, default settings) on 127.0.0.1.
// Usage: node ws_echo.js PORT. Prints "listening PORT" once ready.
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2] || 0) });
wss.on('listening', () => console.log('listening ' + wss.address().port));
wss.on('connection', (ws) => {
  // ws reports protocol errors as events (it has already failed the connection).
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
