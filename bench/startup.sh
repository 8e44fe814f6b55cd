#!/usr/bin/env bash
# Whole-process cost of qaccel commands, as a user runs them from the README's
# default build (bash scripts/build), next to peers in the same run.
#
#   bash bench/startup.sh            (SCALESIM_DIR=/path/to/scale-sim-v2 adds SCALE-Sim)
#
# Each qaccel row: CPU time (user + sys) per process, averaged over REPS
# processes (default 200: one run is below /usr/bin/time's 10 ms resolution),
# and the peak RSS of one process. Peer rows run once or a few times. The load
# average is printed before and after: figures are only comparable at a
# similar load. Inputs: AlexNet's five conv layers (tests/golden/scalesim/
# inputs/alexnet_conv.csv) on examples/os_32x32.cfg.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
q="${QACCEL:-$repo/build/qaccel}"
reps="${REPS:-200}"
timebin=/usr/bin/time
[[ -x "$timebin" ]] || { echo "install GNU time: apt-get install time" >&2; exit 1; }
[[ -x "$q" ]] || { echo "no qaccel at $q: bash scripts/build first" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cfg="$repo/examples/os_32x32.cfg" topo="$repo/tests/golden/scalesim/inputs/alexnet_conv.csv"

cpu() { awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.4f", u+s}' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/{printf "%.1f", $2/1024}' "$1"; }
# measure NAME REPS CMD...: CPU per process (ms) over REPS processes, peak RSS of one.
measure() {
  local name=$1 n=$2; shift 2
  "$timebin" -v -o "$work/one" "$@" >/dev/null 2>&1
  "$timebin" -v -o "$work/many" bash -c 'for ((i = 0; i < $1; i++)); do "${@:2}" >/dev/null 2>&1; done' _ "$n" "$@"
  local ms; ms=$(awk -v t="$(cpu "$work/many")" -v n="$n" 'BEGIN{printf "%.2f", 1000 * t / n}')
  printf '%-46s %12s %10s %6s\n' "$name" "$ms" "$(rss "$work/one")" "$n"
  echo "$ms" >"$work/$name.ms"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $("$q" version)"
printf '%-46s %12s %10s %6s\n' command cpu_ms_per_run peak_MB runs
measure "true: the loop's own cost per process" "$reps" /bin/true
measure "qaccel version" "$reps" "$q" version
measure "qaccel info lenet5" "$reps" "$q" info lenet5
measure "qaccel sim alexnet-conv os 32x32" "$reps" "$q" sim -c "$cfg" -t "$topo" -p "$work/qa"
if [[ -x "$(dirname "$q")/qaccel-train" ]]; then
  measure "qaccel-train version (links libtorch)" 10 "$(dirname "$q")/qaccel-train" version
fi
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  measure "peer: python3 -c 'import torch'" 5 /usr/bin/python3 -c "import torch"
fi
if [[ -n "${SCALESIM_DIR:-}" ]]; then
  (cd "$SCALESIM_DIR" && measure "peer: SCALE-Sim v2 alexnet-conv os 32x32" 1 \
     env PYTHONPATH=. /usr/bin/python3 scalesim/scale.py -c "$cfg" -t "$topo" -p "$work/ss")
  ratio=$(awk -v a="$(cat "$work/peer: SCALE-Sim v2 alexnet-conv os 32x32.ms")" \
              -v b="$(cat "$work/qaccel sim alexnet-conv os 32x32.ms")" 'BEGIN{printf "%.0f", a / b}')
  echo "SCALE-Sim / qaccel sim CPU ratio: ${ratio}x"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
