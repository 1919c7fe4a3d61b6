// graphql-ws server and client (graphql-transport-ws) for captures/app-graphql-ws.pcap.
// Usage: node graphql_ws.js PORT.
const { WebSocketServer } = require("ws");
const WebSocket = require("ws");
const { useServer } = require("graphql-ws/lib/use/ws");
const { createClient } = require("graphql-ws");
const { buildSchema } = require("graphql");
const port = Number(process.argv[2]);
const schema = buildSchema(`
  type Query { hello(name: String!): String }
  type Subscription { greetings: String }
`);
const roots = {
  query: { hello: ({ name }) => `Hello ${name}` },
  subscription: {
    greetings: async function* () {
      for (const hi of ["Hi", "Bonjour", "Hola"]) yield { greetings: hi };
    },
  },
};
const wss = new WebSocketServer({ port, host: "127.0.0.1", path: "/graphql" });
const server = useServer({ schema, roots }, wss);
const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, lazy: true });
(async () => {
  const got = [];
  await new Promise((resolve, reject) =>
    client.subscribe({ query: "subscription Greetings { greetings }" },
      { next: (d) => got.push(d.data.greetings), error: reject, complete: resolve }));
  const hello = await new Promise((resolve, reject) => {
    let r;
    client.subscribe({ query: "query Hello($name: String!) { hello(name: $name) }", variables: { name: "framescope" } },
      { next: (d) => (r = d.data.hello), error: reject, complete: () => resolve(r) });
  });
  console.log(JSON.stringify({ greetings: got, hello }));
  await client.dispose();
  await server.dispose();
  wss.close();
})().catch((e) => { console.error(e); process.exit(1); });
