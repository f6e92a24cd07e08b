import subprocess, time, tempfile, urllib.request, sys, os
def once(binary, port):
    d = tempfile.mkdtemp()
    env = dict(os.environ, API_KEY="k"*32, DATA_DIR=d, PORT=str(port), RUST_LOG="error")
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read(); break
        except Exception:
            time.sleep(0.002)
            if time.monotonic() - t0 > 10: break
    dt = time.monotonic() - t0
    p.kill(); p.wait()
    return dt*1000
port=40000
for b in sys.argv[1:]:
    r=[]
    for i in range(7):
        port+=1
        r.append(round(once(b, port)))
    print(b, sorted(r))
