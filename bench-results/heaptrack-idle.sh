#!/bin/bash
# Where an idle session's memory goes: heaptrack on the gateway while
# wagate-bench pairs N sessions, killed (SIGKILL) once they are paired and
# idle, so heaptrack's "leaked" is what the idle sessions hold.
#   cargo build --profile profiling -p wagate -p wagate-bench --bins
#   bench-results/heaptrack-idle.sh 300 /tmp/ht
# then: heaptrack_print -f /tmp/ht/gw.zst --print-leaks 1 --print-peaks 0 \
#         --print-allocators 0 --print-temporary 0
set -e
N=${1:-300}
OUT=${2:-/tmp/ht}
T=$(cd "$(dirname "$0")/.." && pwd)/target/profiling
mkdir -p "$OUT"; rm -f "$OUT"/gw* "$OUT"/once "$OUT"/bench.err
cat > "$OUT/wagate" <<WRAP
#!/bin/bash
if [ "\$1" = serve ] && [ ! -e $OUT/once ]; then
  touch $OUT/once
  exec heaptrack -o $OUT/gw $T/wagate "\$@"
fi
exec $T/wagate "\$@"
WRAP
chmod +x "$OUT/wagate"
"$T/wagate-bench" --wagate "$OUT/wagate" --sessions "$N" --pair-concurrency 8 > /dev/null 2> "$OUT/bench.err" &
bench=$!
until grep -q "sessions paired" "$OUT/bench.err" 2>/dev/null; do sleep 0.5; done
sleep 3
pkill -9 -f "$T/wagate serve" || true
sleep 8
kill $bench 2>/dev/null || true
pkill -f "$T/wagate" || true
ls -la "$OUT"/gw*
