#!/usr/bin/env bash
# Builds a separate copy of the native addon with AddressSanitizer and
# UndefinedBehaviorSanitizer into $1 (default: a temp dir) and prints the
# path of the .node file. The real build/ is untouched.
# Node itself is not instrumented, so the addon runs with libasan preloaded:
#   LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 node ...
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$(mktemp -d /tmp/wgts-asan-XXXXXX)}"
mkdir -p "$out/native"
cp "$root"/native/*.cc "$root"/native/*.h "$out/native/"
(cd "$root" && node -e '
const fs = require("fs");
const g = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const t = g.targets[0];
const san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"];
t.cflags_cc = t.cflags_cc.map((f) => (f === "-O2" ? "-O1" : f)).concat(["-g"], san);
t.cflags = (t.cflags || []).concat(["-g"], san);
t.ldflags = (t.ldflags || []).concat(san);
t.include_dirs = [require("path").resolve(require("node-addon-api").include_dir)];
fs.writeFileSync(process.argv[2], JSON.stringify(g, null, 2));
' "$root/binding.gyp" "$out/binding.gyp")
gyp="$(npm prefix -g 2>/dev/null)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp="$(command -v node-gyp)"
# node-addon-api resolves from the repo.
(cd "$out" && NODE_PATH="$root/node_modules" node "$gyp" rebuild --nodedir="${NODEDIR:-$(npm config get nodedir 2>/dev/null || echo /usr)}" >"$out/build.log" 2>&1) || { cat "$out/build.log" >&2; exit 1; }
echo "$out/build/Release/wgts_native.node"
