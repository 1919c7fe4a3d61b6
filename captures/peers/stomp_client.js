// @stomp/stompjs client for captures/app-stomp.pcap. Usage: node stomp_client.js PORT.
Object.assign(global, { WebSocket: require("ws") });
const { Client } = require("@stomp/stompjs");
const port = process.argv[2];
const client = new Client({
  brokerURL: `ws://127.0.0.1:${port}/stomp`,
  connectHeaders: { login: "guest", passcode: "guest", host: "/" },
  heartbeatIncoming: 0,
  heartbeatOutgoing: 0,
  reconnectDelay: 0,
});
client.onConnect = () => {
  client.subscribe("/queue/a", (m) => {
    console.log(JSON.stringify({ got: m.headers.destination, body: m.body }));
    client.deactivate();
  });
  client.watchForReceipt("r-1", () => console.log(JSON.stringify({ receipt: "r-1" })));
  client.publish({
    destination: "/queue/a",
    body: JSON.stringify({ n: 1, text: "hello stomp" }),
    headers: { "content-type": "application/json", receipt: "r-1" },
  });
};
client.activate();
setTimeout(() => process.exit(1), 10000).unref();
