#!/bin/bash
# start wagate, poll /health every 1ms, print ms to health
D=$1
start=$(date +%s%N)
RUST_LOG=${LOG:-info} DATA_DIR=$D PORT=18555 API_KEY=adminadminadminadminadmin1234567 ${WAGATE:-target/release/wagate} serve > $D/out.log 2>&1 &
pid=$!
until curl -s -o /dev/null http://127.0.0.1:18555/health; do sleep 0.001; done
end=$(date +%s%N)
echo "health after $(( (end-start)/1000000 )) ms"
kill $pid; wait $pid 2>/dev/null
