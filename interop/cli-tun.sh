#!/usr/bin/env bash
# `wgts up --mode tun` / `wgts down` against wg-quick + wireguard-go, in network
# namespaces it creates and removes (interop/cli-tun.ts). Needs root, ip netns,
# wireguard-go, wg, wg-quick, ping and a build (npm run build).
# Without them: skip with a message, or fail when CI=true.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

skip() {
  echo "cli-tun: $1"
  if [ "${CI:-}" = "true" ]; then echo "cli-tun: required in CI; failing"; exit 1; fi
  echo "cli-tun: skipped"
  exit 0
}

[ "$(id -u)" = "0" ] || skip "needs root (network namespaces, TUN)"
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || skip "needs iproute2 with 'ip netns'"
[ -c /dev/net/tun ] || skip "needs /dev/net/tun"
for tool in wireguard-go wg wg-quick ping; do
  command -v "$tool" >/dev/null || skip "needs $tool (apt-get install wireguard-go wireguard-tools iputils-ping)"
done
[ -f "$root/dist/interop/cli-tun.js" ] || { echo "cli-tun: dist/interop/cli-tun.js missing; run 'npm run build'"; exit 1; }
[ -f "$root/build/Release/wgts_native.node" ] || skip "the native addon is not built; kernel TUN mode needs it"

cd "$root"
timeout --signal=TERM --kill-after=20 "${CLI_TUN_TIMEOUT:-300}" node dist/interop/cli-tun.js &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
wait $pid
rc=$?
[ $rc -eq 124 ] && echo "cli-tun: timed out"
exit $rc
