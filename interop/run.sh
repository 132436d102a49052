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

# Every suite is a program that removes its own namespaces (also on
# SIGINT/SIGTERM), prints one line per case and closes with "N passed, N
# failed". Each runs under its own time bound.
cd "$root"
total_pass=0
total_fail=0
failed_suites=""

run_suite() {
  local name="$1" limit="$2"
  shift 2
  local log
  log="$(mktemp)"
  echo "== interop suite: $name"
  # Foreground pipeline: an interrupt reaches the suite through the process
  # group and the suite cleans up itself; timeout bounds it.
  timeout --signal=TERM --kill-after=20 "$limit" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  [ $rc -eq 124 ] && echo "interop: suite $name timed out after ${limit}s"
  local line
  line="$(grep -oE '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 | sed -E 's/^[A-Za-z-]+: //')"
  rm -f "$log"
  if [ -n "$line" ]; then
    total_pass=$((total_pass + $(echo "$line" | awk '{print $1}')))
    total_fail=$((total_fail + $(echo "$line" | awk '{print $3}')))
  fi
  if [ $rc -ne 0 ]; then
    failed_suites="$failed_suites $name"
    [ -z "$line" ] && total_fail=$((total_fail + 1))
  fi
}

only="${INTEROP_SUITES:-kernel-tun netstack-linux netstack-mode cli-tun cli-netstack reliability}"
# The reliability suite's soak: 5 minutes here, 30 with RELIABILITY_LONG=1 (npm run test:long).
if [ "${RELIABILITY_LONG:-}" = "1" ]; then soak="${RELIABILITY_SOAK_S:-1800}"; else soak="${RELIABILITY_SOAK_S:-300}"; fi
for suite in $only; do
  case "$suite" in
    kernel-tun) run_suite kernel-tun "${INTEROP_TIMEOUT:-540}" node dist/interop/run.js ;;
    netstack-linux) run_suite netstack-linux 300 node dist/interop/netstack-linux.js ;;
    netstack-mode) run_suite netstack-mode 480 node dist/interop/netstack-mode.js ;;
    cli-tun) run_suite cli-tun 360 bash interop/cli-tun.sh ;;
    cli-netstack) run_suite cli-netstack 300 node dist/interop/cli-netstack.js ;;
    reliability) RELIABILITY_SOAK_S="$soak" run_suite reliability $((soak + 420)) node dist/interop/reliability.js ;;
    *) echo "interop: unknown suite $suite"; failed_suites="$failed_suites $suite" ;;
  esac
done

echo "interop: all suites"
[ -n "$failed_suites" ] && echo "interop: failed suites:$failed_suites"
echo "$total_pass passed, $total_fail failed"
[ -z "$failed_suites" ]
