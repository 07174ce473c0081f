#!/usr/bin/env bash
# A 3-node NATS JetStream cluster on this machine, for trying scale-out (docs/scale-out.md):
#
#   examples/local-cluster.sh start    # servers on 127.0.0.1:4311, 4312, 4313 (routes on 6311-6313)
#   examples/local-cluster.sh stop
#
# Data and logs go under ${STATOR_CLUSTER_DIR:-/tmp/stator-cluster}. Ports other than NATS's default
# 4222, so a nats-server already running there is left alone.
set -euo pipefail
dir=${STATOR_CLUSTER_DIR:-/tmp/stator-cluster}
bin=$(command -v nats-server || echo /usr/sbin/nats-server)
routes=nats://127.0.0.1:6311,nats://127.0.0.1:6312,nats://127.0.0.1:6313

case "${1:-}" in
  start)
    mkdir -p "$dir"
    for i in 1 2 3; do
      "$bin" --server_name "n$i" -a 127.0.0.1 -p "431$i" -js -sd "$dir/n$i" \
        --cluster_name stator --cluster "nats://127.0.0.1:631$i" --routes "$routes" \
        -l "$dir/n$i.log" -P "$dir/n$i.pid" &
    done
    sleep 2
    echo "cluster up: --nats nats://127.0.0.1:4311,nats://127.0.0.1:4312,nats://127.0.0.1:4313 (logs in $dir)"
    ;;
  stop)
    for i in 1 2 3; do
      [ -f "$dir/n$i.pid" ] && kill "$(cat "$dir/n$i.pid")" 2>/dev/null || true
    done
    echo "cluster stopped (data kept in $dir; rm -rf it to start fresh)"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
