#!/usr/bin/env python3
"""Records the application-protocol captures of this folder (app-*.pcap) on loopback.

Needs root (tcpdump on lo), Debian's tcpdump and mosquitto, Python packages
python-socketio aiohttp paho-mqtt websockets msgpack cbor2 protobuf, Node 18+ with
`npm install` run in peers/. Run from this folder: python3 make_app_captures.py [NAME…]
Each scenario runs real peers on 127.0.0.1 while tcpdump records only its port; the values
the peers send are fixed here and asserted by tests/app_protocols.rs.
"""
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

import cbor2
import msgpack
import paho.mqtt.client as mqtt
import socketio
from aiohttp import web
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")


def record(name, port, scenario):
    path = os.path.join(HERE, f"app-{name}.pcap")
    cap = subprocess.Popen(
        ["tcpdump", "-q", "--immediate-mode", "-i", "lo", "-U", "-Z", "root", "-w", path, f"tcp port {port}"],
        stderr=subprocess.PIPE, text=True,
    )
    # Start the peers only once tcpdump says it is listening (a fixed sleep is not enough
    # on a loaded machine).
    for line in cap.stderr:
        if "listening on" in line:
            break
    try:
        scenario(port)
    finally:
        time.sleep(0.5)
        cap.terminate()
        cap.wait()
    os.chmod(path, 0o644)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def node(script, port):
    out = subprocess.run(["node", os.path.join(PEERS, script), str(port)], capture_output=True, text=True, timeout=30)
    print(out.stdout.strip())
    if out.returncode != 0:
        raise SystemExit(f"{script} failed: {out.stderr}")


# --- Socket.IO: python-socketio server, Node socket.io-client (websocket transport) ---------

def socketio_scenario(port):
    sio = socketio.AsyncServer(async_mode="aiohttp")

    @sio.on("chat")
    async def chat(sid, text, number):
        await sio.emit("reply", {"echo": text, "n": number}, to=sid)

    @sio.on("upload")
    async def upload(sid, data, name):
        return len(data)

    @sio.on("add")
    async def add(sid, a, b):
        return a + b

    @sio.on("join", namespace="/chat")
    async def join(sid, room):
        return "joined " + room

    async def main():
        app = web.Application()
        sio.attach(app)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.get_running_loop().run_in_executor(None, node, "socketio_client.js", port)
        await asyncio.sleep(0.3)
        await runner.cleanup()

    asyncio.run(main())


# --- MQTT: paho-mqtt over WebSocket to Mosquitto ---------------------------------------------
# Debian 12's mosquitto 2.0.11 refuses to start a websockets listener here ("Unable to start
# any listening sockets" after a successful listen), so a websockets relay on the captured
# port carries each TCP read of mosquitto's plain listener as one binary message and each
# client message back as bytes: the MQTT bytes are paho's and mosquitto's own.

def mqtt_scenario(port):
    broker_port = port + 1000
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write(f"listener {broker_port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    conf.close()
    broker = subprocess.Popen(["mosquitto", "-c", conf.name], stderr=subprocess.DEVNULL)
    time.sleep(0.5)

    async def relay(ws):
        reader, writer = await asyncio.open_connection("127.0.0.1", broker_port)

        async def up():
            async for m in ws:
                writer.write(m)
                await writer.drain()
            writer.close()

        async def down():
            while data := await reader.read(65536):
                await ws.send(data)
            await ws.close()

        await asyncio.gather(up(), down(), return_exceptions=True)

    def clients():
        got = []

        def session(client_id, protocol, actions):
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, transport="websockets",
                            protocol=protocol)
            c.ws_set_options(path="/mqtt")
            c.on_message = lambda _c, _u, m: got.append((client_id, m.topic, m.payload.decode(), m.retain))
            props = None
            if protocol == mqtt.MQTTv5:
                from paho.mqtt.properties import Properties
                from paho.mqtt.packettypes import PacketTypes
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = 30
            c.connect("127.0.0.1", port, keepalive=30, properties=props)
            c.loop_start()
            time.sleep(0.3)
            actions(c)
            time.sleep(0.5)
            c.disconnect()
            time.sleep(0.2)
            c.loop_stop()

        def v311(c):
            c.subscribe("sensors/#", qos=1)
            time.sleep(0.2)
            c.publish("sensors/t1", "21.5", qos=1).wait_for_publish(2)
            c.publish("sensors/t2", json.dumps({"t": 19.0}), qos=0)
            c.publish("status/fs", "online", qos=1, retain=True).wait_for_publish(2)

        def v5(c):
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes
            c.subscribe("status/#", qos=1)
            time.sleep(0.2)
            p = Properties(PacketTypes.PUBLISH)
            p.UserProperty = ("unit", "C")
            c.publish("sensors/t3", "22", qos=1, properties=p).wait_for_publish(2)

        session("fs-v311", mqtt.MQTTv311, v311)
        session("fs-v5", mqtt.MQTTv5, v5)
        print(got)

    async def main():
        async with serve(relay, "127.0.0.1", port, subprotocols=["mqtt"]):
            await asyncio.get_running_loop().run_in_executor(None, clients)

    try:
        asyncio.run(main())
    finally:
        broker.terminate()
        broker.wait()
        os.unlink(conf.name)


# --- STOMP: @stomp/stompjs against a small STOMP 1.2 broker in Python ----------------------

def stomp_scenario(port):
    subs = {}

    def frame(command, headers, body=""):
        head = "".join(f"{k}:{v}\n" for k, v in headers.items())
        return f"{command}\n{head}\n{body}\0"

    def parse(text):
        head, _, body = text.partition("\n\n")
        lines = head.split("\n")
        headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        return lines[0], headers, body.rstrip("\0\n")

    async def broker(ws):
        async for text in ws:
            if text in ("\n", "\r\n"):
                continue
            command, headers, body = parse(text)
            if command in ("CONNECT", "STOMP"):
                await ws.send(frame("CONNECTED", {"version": "1.2", "heart-beat": "0,0", "server": "mini/1"}))
            elif command == "SUBSCRIBE":
                subs[headers["destination"]] = (ws, headers["id"])
            elif command == "SEND":
                if "receipt" in headers:
                    await ws.send(frame("RECEIPT", {"receipt-id": headers["receipt"]}))
                target = subs.get(headers["destination"])
                if target:
                    await target[0].send(frame("MESSAGE", {
                        "destination": headers["destination"], "subscription": target[1], "message-id": "m-1",
                        "content-type": headers.get("content-type", "text/plain")}, body))
            elif command == "DISCONNECT":
                if "receipt" in headers:
                    await ws.send(frame("RECEIPT", {"receipt-id": headers["receipt"]}))
                await ws.close()

    async def main():
        async with serve(broker, "127.0.0.1", port, subprotocols=["v12.stomp", "v11.stomp", "v10.stomp"]):
            await asyncio.get_running_loop().run_in_executor(None, node, "stomp_client.js", port)

    asyncio.run(main())


def graphql_scenario(port):
    node("graphql_ws.js", port)


# --- JSON-RPC 2.0 and MessagePack/CBOR from Python websockets ------------------------------

def jsonrpc_scenario(port):
    methods = {"add": lambda a, b: a + b, "echo": lambda s: s}

    def answer(req):
        if "id" not in req:
            return None
        f = methods.get(req["method"])
        if f is None:
            return {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": req["id"]}
        return {"jsonrpc": "2.0", "result": f(*req["params"]), "id": req["id"]}

    async def server(ws):
        async for text in ws:
            msg = json.loads(text)
            if isinstance(msg, list):
                replies = [r for r in map(answer, msg) if r is not None]
                await ws.send(json.dumps(replies))
            elif (r := answer(msg)) is not None:
                await ws.send(json.dumps(r))

    async def main():
        async with serve(server, "127.0.0.1", port):
            async with connect(f"ws://127.0.0.1:{port}/rpc") as ws:
                await ws.send(json.dumps({"jsonrpc": "2.0", "method": "add", "params": [2, 3], "id": 1}))
                print(await ws.recv())
                await ws.send(json.dumps({"jsonrpc": "2.0", "method": "log", "params": ["started"]}))
                await ws.send(json.dumps([
                    {"jsonrpc": "2.0", "method": "add", "params": [1, 1], "id": 2},
                    {"jsonrpc": "2.0", "method": "echo", "params": ["x"], "id": "three"},
                ]))
                print(await ws.recv())
                await ws.send(json.dumps({"jsonrpc": "2.0", "method": "nope", "params": [], "id": 4}))
                print(await ws.recv())

    asyncio.run(main())


def binary_scenario(port):
    async def server(ws):
        codec = msgpack if ws.request.path == "/msgpack" else cbor2
        async for data in ws:
            req = codec.loads(data)
            result = sum(req["args"]) if req["op"] == "add" else req["args"][0] * req["args"][1]
            await ws.send(codec.dumps({"result": result, "op": req["op"]}))

    async def main():
        async with serve(server, "127.0.0.1", port):
            async with connect(f"ws://127.0.0.1:{port}/msgpack") as ws:
                await ws.send(msgpack.dumps({"op": "add", "args": [1, 2], "tags": ["a", "b"]}))
                print(msgpack.loads(await ws.recv()))
            async with connect(f"ws://127.0.0.1:{port}/cbor") as ws:
                await ws.send(cbor2.dumps({"op": "mul", "args": [3, 4], "blob": b"\x00\x01\x02"}))
                print(cbor2.loads(await ws.recv()))

    asyncio.run(main())


def protobuf_scenario(port):
    """Protocol Buffers from the `protobuf` package's well-known types (no .proto compiled
    here): a Struct from the client, a Timestamp back from the server."""
    from google.protobuf import struct_pb2, timestamp_pb2

    async def server(ws):
        async for data in ws:
            s = struct_pb2.Struct()
            s.ParseFromString(data)
            await ws.send(timestamp_pb2.Timestamp(seconds=1700000000, nanos=500).SerializeToString())

    async def main():
        async with serve(server, "127.0.0.1", port):
            async with connect(f"ws://127.0.0.1:{port}/pb") as ws:
                s = struct_pb2.Struct()
                s.update({"sensor": "t1", "celsius": 21.5})
                await ws.send(s.SerializeToString())
                print(await ws.recv())

    asyncio.run(main())


SCENARIOS = {
    "socketio": (18101, socketio_scenario),
    "mqtt": (18102, mqtt_scenario),
    "stomp": (18103, stomp_scenario),
    "graphql-ws": (18104, graphql_scenario),
    "jsonrpc": (18105, jsonrpc_scenario),
    "msgpack-cbor": (18106, binary_scenario),
    "protobuf": (18107, protobuf_scenario),
}

if __name__ == "__main__":
    for name in sys.argv[1:] or SCENARIOS:
        port, scenario = SCENARIOS[name]
        record(name, port, scenario)
