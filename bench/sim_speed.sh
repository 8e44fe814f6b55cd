#!/usr/bin/env bash
# Whole-process speed of `qaccel sim` (issue #8): CPU seconds (user + sys)
# and peak RSS of one `qaccel sim` run per input, measured with
# /usr/bin/time -f "%e %U %S %M", on
#   * examples/speed/ on a 12x14 weight-stationary array with 36 kB SRAMs
#     (ws_12x14_36k.cfg, CALC): a UNet-sized GEMM, UNet's and ResNet-50's
#     (4k input, no pooling) conv layers, DeepBench-sized GEMMs -- our own
#     topology files of the shapes of SCALE-Sim v2's shipped examples;
#   * AlexNet's five conv layers (tests/golden/scalesim/inputs/alexnet_conv.csv)
#     on a 32x32 os array with 64 kB SRAMs, CALC (examples/os_32x32.cfg) and
#     USER at 10 words/cycle (examples/speed/os_32x32_64k_user.cfg).
# With SCALESIM_DIR (a scale-sim-v2 checkout; run with /usr/bin/python3 and
# numpy, as bench/scalesim_compare.sh) it also runs SCALE-Sim on the AlexNet
# CALC case in the same run and prints the CPU ratio (SCALE-Sim takes minutes).
#
#   bench/sim_speed.sh [QACCEL_BINARY]     (default: build/qaccel)
#   SCALESIM_DIR=/path/to/scale-sim-v2 bench/sim_speed.sh build-notrain/qaccel
#
# A refused input (a limit of docs/simulator.md) is reported as such, not timed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
qaccel="${1:-$repo/build/qaccel}"
timebin=/usr/bin/time
[[ -x "$timebin" ]] || { echo "install GNU time: apt-get install time" >&2; exit 1; }
[[ -x "$qaccel" ]] || { echo "qaccel binary not found at $qaccel (build first)" >&2; exit 1; }
ex="$repo/examples"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# name | config | topology | input type | runs (CPU and wall are per run: the
# AlexNet runs are repeated, one is near /usr/bin/time's 10 ms resolution)
alex="$repo/tests/golden/scalesim/inputs/alexnet_conv.csv"
cases=("unet_gemm_ws12x14|$ex/speed/ws_12x14_36k.cfg|$ex/speed/unet_gemm.csv|gemm|1"
       "unet_conv_ws12x14|$ex/speed/ws_12x14_36k.cfg|$ex/speed/unet_conv.csv|conv|1"
       "resnet50_4k_ws12x14|$ex/speed/ws_12x14_36k.cfg|$ex/speed/resnet50_4k.csv|conv|1"
       "deepbench_gemm_ws12x14|$ex/speed/ws_12x14_36k.cfg|$ex/speed/deepbench_gemm.csv|conv|1"
       "alexnet_os32_calc|$ex/os_32x32.cfg|$alex|conv|20"
       "alexnet_os32_user|$ex/speed/os_32x32_64k_user.cfg|$alex|conv|5")

echo "qaccel: $qaccel"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-24s %10s %10s %10s  %s\n' input cpu_s wall_s peak_MB status
declare -A cpu
for c in "${cases[@]}"; do
  IFS='|' read -r name cfg topo kind reps <<<"$c"
  status=ok
  if ! "$timebin" -f "%e %U %S %M" -o "$work/$name.time" bash -c \
      'for ((i = 0; i < $1; i++)); do "$2" sim -c "$3" -t "$4" -i "$5" -p "$6" >"$7" 2>&1 || exit 1; done' \
      _ "$reps" "$qaccel" "$cfg" "$topo" "$kind" "$work/$name" "$work/$name.log"; then
    status="refused: $(grep -m1 'error' "$work/$name.log" | cut -c1-120)"
  fi
  read -r wall user sys rss < <(tail -1 "$work/$name.time")
  cpu[$name]="$(awk -v u="$user" -v s="$sys" -v n="$reps" 'BEGIN{printf "%.3f", (u+s)/n}')"
  printf '%-24s %10s %10s %10.1f  %s\n' "$name" "${cpu[$name]}" \
      "$(awk -v w="$wall" -v n="$reps" 'BEGIN{printf "%.3f", w/n}')" \
      "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$status"
done
awk -v u="${cpu[alexnet_os32_user]}" -v c="${cpu[alexnet_os32_calc]}" \
    'BEGIN{ if (c > 0) printf "AlexNet USER / CALC CPU: %.1fx\n", u/c; else print "AlexNet USER / CALC CPU: CALC below the resolution" }'

if [[ -n "${SCALESIM_DIR:-}" ]]; then
  in="$repo/tests/golden/scalesim/inputs"
  echo "SCALE-Sim v2 ($SCALESIM_DIR) on alexnet_os32_calc (tests/golden/scalesim/inputs/os_32x32_calc.cfg):"
  (cd "$SCALESIM_DIR" && PYTHONPATH=. OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
      "$timebin" -f "%e %U %S %M" -o "$work/ss.time" /usr/bin/python3 scalesim/scale.py \
      -c "$in/os_32x32_calc.cfg" -t "$in/alexnet_conv.csv" -i conv -p "$work/ss" >"$work/ss.log" 2>&1)
  read -r wall user sys rss < <(tail -1 "$work/ss.time")
  ss_cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')"
  # qaccel on the same config file, many runs: one is below the 10 ms resolution.
  reps=50
  "$timebin" -f "%e %U %S %M" -o "$work/qa.time" bash -c \
      'for ((i = 0; i < $1; i++)); do "$2" sim -c "$3" -t "$4" -p "$5" >/dev/null; done' \
      _ "$reps" "$qaccel" "$in/os_32x32_calc.cfg" "$in/alexnet_conv.csv" "$work/qa"
  read -r qwall quser qsys qrss < <(tail -1 "$work/qa.time")
  qa_cpu="$(awk -v u="$quser" -v s="$qsys" -v n="$reps" 'BEGIN{printf "%.5f", (u+s)/n}')"
  same=identical
  for f in COMPUTE_REPORT BANDWIDTH_REPORT DETAILED_ACCESS_REPORT; do
    cmp -s "$work/ss/os_32x32_calc/$f.csv" "$work/qa/os_32x32_calc/$f.csv" || same="DIFFERENT($f)"
  done
  printf '%-24s %12s %12s %10s %10s  %s\n' case scalesim_cpu qaccel_cpu ratio scalesim_MB reports
  printf '%-24s %12s %12s %10s %10.1f  %s\n' alexnet_os32_calc "$ss_cpu" "$qa_cpu" \
      "$(awk -v a="$ss_cpu" -v b="$qa_cpu" 'BEGIN{ if (b > 0) printf "%.0fx", a/b; else print "inf"}')" \
      "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$same"
  echo "(qaccel CPU per run = total of $reps whole-process runs / $reps)"
fi
