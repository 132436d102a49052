#!/usr/bin/env bash
# Interop suite entry point (npm run test:interop builds first).
# Needs root, `ip netns`, wireguard-go, wg, wg-quick, ping, iperf3.
# Without them: skip with a message, or fail when CI=true.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

skip() {
  echo "interop: $1"
  if [ "${CI:-}" = "true" ]; then
    echo "interop: required in CI; failing"
    exit 1
  fi
  echo "interop: skipped"
  exit 0
}

[ "$(id -u)" = "0" ] || skip "needs root (network namespaces, TUN)"
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || skip "needs iproute2 with 'ip netns'"
[ -c /dev/net/tun ] || skip "needs /dev/net/tun"
for tool in wireguard-go wg wg-quick ping iperf3; do
  command -v "$tool" >/dev/null || skip "needs $tool (apt-get install wireguard-go wireguard-tools iperf3 iputils-ping)"
done
[ -f "$root/dist/interop/run.js" ] || { echo "interop: dist/interop/run.js missing; run 'npm run build'"; exit 1; }
if [ "${INTEROP_B:-wireguard-ts}" = "wireguard-ts" ] && [ ! -f "$root/build/Release/wgts_native.node" ]; then
  skip "the native addon is not built (npm run install); wireguard-ts needs it for TUN"
fi

# The Node harness removes its namespaces itself (also on SIGINT/SIGTERM); the
# trap only forwards an interrupt to it. The whole suite is bounded in time.
cd "$root"
timeout --signal=TERM --kill-after=20 "${INTEROP_TIMEOUT:-540}" node dist/interop/run.js &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
wait $pid
rc=$?
[ $rc -eq 124 ] && echo "interop: timed out"
exit $rc
