#!/usr/bin/env bash
# Sanitizer job: builds the addon with -fsanitize=address,undefined into a temp
# dir and runs native/sanitize/exercise.cjs through it with libasan preloaded
# (node itself is not instrumented), inside a private network namespace when
# root (TUN cases), on loopback otherwise. Fails on any ASan/UBSan report.
#   bash native/sanitize/run.sh            (about 30 s)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mktemp -d /tmp/wgts-asan-XXXXXX)"
trap 'rm -rf "$out"' EXIT
addon="$("$here/build.sh" "$out")" || { echo "sanitize: build failed"; exit 1; }
if ! nm -D "$addon" | grep __asan_report >/dev/null; then echo "sanitize: $addon is not instrumented"; exit 1; fi
libasan="$(gcc -print-file-name=libasan.so)"
[ -f "$libasan" ] || { echo "sanitize: libasan.so not found"; exit 1; }
# detect_leaks=0: node's own allocations at exit are not ours; halt_on_error makes any report fatal.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=99"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98"
cmd=(env LD_PRELOAD="$libasan" timeout 120 node --expose-gc "$here/exercise.cjs" "$addon")
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  unshare -n sh -c 'ip link set lo up && exec "$@"' sh "${cmd[@]}" >"$out/log" 2>&1
else
  "${cmd[@]}" >"$out/log" 2>&1
fi
rc=$?
cat "$out/log"
if [ $rc -ne 0 ] || grep -qE 'ERROR: AddressSanitizer|runtime error:' "$out/log"; then
  echo "sanitize: FAILED (exit $rc)"
  exit 1
fi
echo "sanitize: passed (ASan+UBSan, addon $(basename "$addon"))"
