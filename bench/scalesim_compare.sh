#!/usr/bin/env bash
# Side-by-side: SCALE-Sim v2 vs `qaccel sim` on the same inputs. Measures CPU
# time (user + sys) and peak RSS with /usr/bin/time -v, checks that the three
# report CSVs are identical, and prints a table with both figures and ratios.
#
#   SCALESIM_DIR=/path/to/scale-sim-v2 bench/scalesim_compare.sh [--quick]
#
# Env: SCALESIM_DIR (required: a scale-sim-v2 checkout, run with Debian's
# /usr/bin/python3 + numpy), QACCEL (default: build/qaccel next to this
# script's repo), REPS (qaccel repetitions per measurement, default 50: one run
# is a few ms, below /usr/bin/time's 10 ms resolution, so the CPU time is
# total / REPS). --quick skips the AlexNet case (SCALE-Sim needs minutes).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
: "${SCALESIM_DIR:?set SCALESIM_DIR to a scale-sim-v2 checkout}"
qaccel="${QACCEL:-$repo/build/qaccel}"
reps="${REPS:-50}"
py=/usr/bin/python3
timebin=/usr/bin/time
[[ -x "$timebin" ]] || { echo "install GNU time: apt-get install time" >&2; exit 1; }
[[ -x "$qaccel" ]] || { echo "qaccel binary not found at $qaccel (build first)" >&2; exit 1; }
in="$repo/tests/golden/scalesim/inputs"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# case name | config | topology | input type
cases=("lenet5_os_8x16_calc|os_8x16_calc.cfg|lenet5_conv.csv|conv"
       "edge_ws_8x16_user|ws_8x16_user.cfg|edge_cases.csv|conv")
[[ "${1:-}" == "--quick" ]] || cases=("alexnet_os_32x32_calc|os_32x32_calc.cfg|alexnet_conv.csv|conv" "${cases[@]}")

cpu_s() { awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.3f", u+s}' "$1"; }
rss_mb() { awk -F': ' '/Maximum resident set size/{printf "%.1f", $2/1024}' "$1"; }

rows=()
for c in "${cases[@]}"; do
  IFS='|' read -r name cfg topo kind <<<"$c"
  echo "== $name" >&2
  run_name="$(sed -n 's/^run_name *= *//p' "$in/$cfg" | tr -d '[:space:]')"
  (cd "$SCALESIM_DIR" && PYTHONPATH=. "$timebin" -v -o "$work/$name.ss.time" "$py" scalesim/scale.py \
      -c "$in/$cfg" -t "$in/$topo" -i "$kind" -p "$work/$name.ss" >"$work/$name.ss.log" 2>&1)
  "$timebin" -v -o "$work/$name.qa.time" bash -c \
      'for ((i = 0; i < $1; i++)); do "$2" sim -c "$3" -t "$4" -i "$5" -p "$6" >/dev/null; done' \
      _ "$reps" "$qaccel" "$in/$cfg" "$in/$topo" "$kind" "$work/$name.qa"
  same=identical
  for f in COMPUTE_REPORT BANDWIDTH_REPORT DETAILED_ACCESS_REPORT; do
    cmp -s "$work/$name.ss/$run_name/$f.csv" "$work/$name.qa/$run_name/$f.csv" || { same="DIFFERENT($f)"; diff "$work/$name.ss/$run_name/$f.csv" "$work/$name.qa/$run_name/$f.csv" >&2 || true; }
  done
  ss_cpu="$(cpu_s "$work/$name.ss.time")"
  qa_cpu="$(awk -v t="$(cpu_s "$work/$name.qa.time")" -v n="$reps" 'BEGIN{printf "%.5f", t/n}')"
  ratio="$(awk -v a="$ss_cpu" -v b="$qa_cpu" 'BEGIN{ if (b > 0) printf "%.0f", a/b; else print "inf"}')"
  rows+=("$(printf '%-24s %14s %14s %10s %12s %12s  %s' "$name" "$ss_cpu" "$qa_cpu" "${ratio}x" \
      "$(rss_mb "$work/$name.ss.time")" "$(rss_mb "$work/$name.qa.time")" "$same")")
done
printf '%-24s %14s %14s %10s %12s %12s  %s\n' case scalesim_cpu_s qaccel_cpu_s cpu_ratio scalesim_MB qaccel_MB reports
printf '%s\n' "${rows[@]}"
echo "(qaccel CPU time is per run, averaged over $reps runs including process start-up; MB = peak RSS)"
