#!/usr/bin/env python3
"""Event-bus output throughput: N logged events published to a broker.

A script beside wagate-bench (not a mode of it): it drives the real binary
and the real brokers — its own nats-server (JetStream, temporary store) or
the machine's RabbitMQ — and prints one line.

Fills a fresh SQLite log with N message.received-shaped events, starts the
gateway with the operator's output (NATS_URL or RABBITMQ_URL), rewinds the
output's cursor to 0 and times until it confirmed the whole log.
usage: python3 crates/wagate-bench/outputs_throughput.py nats|rabbitmq N (after cargo build)
"""
import json, os, sqlite3, subprocess, sys, tempfile, time, urllib.request, uuid

kind, n = sys.argv[1], int(sys.argv[2])
root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
release, debug = os.path.join(root, "target/release/wagate"), os.path.join(root, "target/debug/wagate")
binary = release if os.path.exists(release) else debug
key = "bench-admin-key-0123456789"
data = tempfile.mkdtemp()
env = dict(os.environ, API_KEY=key, DATA_DIR=data, PORT="0", HOST="127.0.0.1", RUST_LOG="warn")

def start(extra):
    p = subprocess.Popen([binary, "serve"], env=dict(env, **extra), stdout=subprocess.PIPE)
    for line in p.stdout:
        line = line.decode()
        if line.startswith("wagate listening on "):
            return p, line.split()[-1]
    raise SystemExit("no address")

p, base = start({})
p.terminate(); p.wait()
db = sqlite3.connect(os.path.join(data, "wagate.db"))
now = int(time.time() * 1000)
payload = json.dumps({"messageId": "false_628111222333@c.us_3EB0", "from": "628111222333@c.us",
                      "chatId": "628111222333@c.us", "body": "x" * 64, "type": "chat", "waTimestamp": now // 1000})
db.executemany("INSERT INTO events (seq, session_id, tenant_id, event, data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
               ((i, "sess_bench", "tnt_admin", "message.received", payload, now) for i in range(1, n + 1)))
db.commit()
tag = uuid.uuid4().hex[:8]
nats = None
if kind == "nats":
    # A NATS server of the bench's own (JetStream in a temporary store), so
    # no stream of the machine's server overlaps `wagate.>`.
    import socket
    sock = socket.socket(); sock.bind(("127.0.0.1", 0)); nats_port = sock.getsockname()[1]; sock.close()
    nats = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(nats_port), "-js", "-sd", tempfile.mkdtemp()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
extra = {"NATS_URL": f"nats://127.0.0.1:{nats_port}" if nats else "", "NATS_STREAM": f"BENCH_{tag}"} if kind == "nats" else \
        {"RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/%2f", "RABBITMQ_EXCHANGE": f"bench.{tag}"}
p, base = start(extra)
out = f"out_global_{kind}"
time.sleep(0.5)
t0 = time.time()
db.execute("UPDATE outputs SET last_seq = 0, updated_at = updated_at + 1 WHERE id = ?", (out,))
db.commit()
while True:
    req = urllib.request.Request(f"{base}/api/outputs/{out}", headers={"X-API-Key": key})
    o = json.load(urllib.request.urlopen(req))["data"]
    if o["lastPublishedSeq"] >= n:
        break
    time.sleep(0.05)
took = time.time() - t0
print(f"{kind}: {n} events published and confirmed in {took:.2f} s = {n / took:.0f} events/s (published counter {o['published']}, binary {os.path.basename(os.path.dirname(binary))})")
p.terminate(); p.wait()
if nats:
    nats.terminate(); nats.wait()
