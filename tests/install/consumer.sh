#!/usr/bin/env bash
# Installs the built tree into a temporary prefix, then configures, builds and
# runs examples/consumer against it through find_package(qaccel CONFIG).
#   consumer.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -x "$tmp/prefix/bin/qaccel"
test -f "$tmp/prefix/include/qaccel/graph/graph.h"
cmake -S "$src/examples/consumer" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
out=$("$tmp/build/consumer")
echo "$out"
grep -q "lenet5: 416520 MACs, 61706 parameters" <<<"$out"
grep -q "32x32 os array: [0-9]* cycles" <<<"$out"
# The installed Python module (when this build has one) imports from the prefix.
if compgen -G "$tmp/prefix/lib/python3*/site-packages/qaccel*.so" >/dev/null; then
  site=$(dirname "$(compgen -G "$tmp/prefix/lib/python3*/site-packages/qaccel*.so" | head -1)")
  py=$(PYTHONPATH="$site" /usr/bin/python3 -c "import qaccel; print(qaccel.info('lenet5')['total_macs'], qaccel.__file__)")
  echo "python: $py"
  grep -q "^416520 $tmp/prefix/" <<<"$py"
fi
# The installed CLI finds its installed trainer (libexec/qaccel) when one was built.
"$tmp/prefix/bin/qaccel" version
echo "consumer: OK"
