// Socket.IO client (websocket transport only) for captures/app-socketio.pcap.
// Usage: node socketio_client.js PORT. Prints what it sent and got as JSON lines.
const { io } = require("socket.io-client");
const port = process.argv[2];
const log = (o) => console.log(JSON.stringify(o));
const socket = io(`http://127.0.0.1:${port}`, { transports: ["websocket"] });
const chat = io(`http://127.0.0.1:${port}/chat`, { transports: ["websocket"] });
let pending = 3;
const done = () => { if (--pending === 0) { chat.close(); socket.close(); } };
socket.on("reply", (m) => log({ got: "reply", m }));
socket.on("connect", () => {
  socket.emit("chat", "hi", 42);
  log({ sent: "chat", args: ["hi", 42] });
  socket.emit("upload", Buffer.from([1, 2, 3, 4, 5]), "photo.bin", (n) => { log({ ack: "upload", n }); done(); });
  socket.emit("add", 2, 3, (sum) => { log({ ack: "add", sum }); done(); });
});
chat.on("connect", () => {
  chat.emit("join", "room1", (ok) => { log({ ack: "join", ok }); done(); });
});
setTimeout(() => process.exit(1), 10000).unref();
