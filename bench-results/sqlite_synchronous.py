# SQLite commit cost, synchronous=FULL vs NORMAL (see BENCHMARKS.md).
import sqlite3, time, tempfile, os, json
N=2000
for mode in ("FULL","NORMAL"):
    d=tempfile.mkdtemp(dir=".")  # the disk the database would live on
    c=sqlite3.connect(os.path.join(d,"b.db"), isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL"); c.execute(f"PRAGMA synchronous={mode}")
    c.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT, tenant_id TEXT, event TEXT, data TEXT, created_at INTEGER)")
    data=json.dumps({"from":"628111000001@c.us","body":"hello there"})
    t=time.perf_counter()
    for i in range(N):
        c.execute("BEGIN"); c.execute("INSERT INTO events (session_id,tenant_id,event,data,created_at) VALUES (?,?,?,?,?)",("s","t","message.received",data,i)); c.execute("COMMIT")
    s=time.perf_counter()-t
    print(f"synchronous={mode}: {N} commits in {s:.2f} s = {N/s:.0f} commits/s, {s*1000/N:.3f} ms each")
    c.close(); import shutil; shutil.rmtree(d)
