#!/usr/bin/env bash
# Speed-up of `mpirun -n K qaccel explore` over one process (issue 10), as
# whole processes, on the ResNet-50 space of the examples (6,144 simulated
# points) and on an 8x larger one (the same space with 8 SRAM sizes per
# buffer: 49,136 points, written to a temporary directory). Each run uses
# --threads 1 per process; points.csv must be byte-identical. Prints wall and
# CPU seconds (median of RUNS runs), the ratios and the load average.
#   bash bench/mpi_speedup.sh [QACCEL] [RANKS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
QACCEL="${1:-build/qaccel}"
RANKS="${2:-2}"
RUNS="${3:-3}"
command -v mpirun >/dev/null || { echo "mpi_speedup: mpirun not found (scripts/deps installs openmpi-bin)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e 's/^ifmap_sram_kb = .*/ifmap_sram_kb = [32, 64, 128, 256, 512, 1024, 2048, 4096]/' \
    -e 's/^filter_sram_kb = .*/filter_sram_kb = [32, 64, 128, 256, 512, 1024, 2048, 4096]/' \
    -e 's/^ofmap_sram_kb = .*/ofmap_sram_kb = [16, 32, 64, 128, 256, 512, 1024, 2048]/' \
    examples/space_resnet50.toml >"$tmp/space_large.toml"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $RANKS ranks, $RUNS runs each"
echo "| space | points | 1 process: wall / CPU | $RANKS ranks: wall / CPU | speed-up (wall) |"
echo "|---|---|---|---|---|"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for space in examples/space_resnet50.toml "$tmp/space_large.toml"; do
  w1=(); c1=(); wk=(); ck=()
  for r in $(seq "$RUNS"); do
    rm -rf "$tmp/o1" "$tmp/ok"
    /usr/bin/time -f "%e %U %S" -o "$tmp/t1" "$QACCEL" explore "$space" -m resnet50 --threads 1 -q -o "$tmp/o1" >"$tmp/log1"
    /usr/bin/time -f "%e %U %S" -o "$tmp/tk" mpirun --oversubscribe --allow-run-as-root -n "$RANKS" \
      "$QACCEL" explore "$space" -m resnet50 --threads 1 -q -o "$tmp/ok" >"$tmp/logk"
    cmp -s "$tmp/o1/points.csv" "$tmp/ok/points.csv" || { echo "mpi_speedup: points.csv differs" >&2; exit 1; }
    w1+=("$(awk '{print $1}' "$tmp/t1")"); c1+=("$(awk '{print $2 + $3}' "$tmp/t1")")
    wk+=("$(awk '{print $1}' "$tmp/tk")"); ck+=("$(awk '{print $2 + $3}' "$tmp/tk")")
  done
  W1=$(printf '%s\n' "${w1[@]}" | median); C1=$(printf '%s\n' "${c1[@]}" | median)
  WK=$(printf '%s\n' "${wk[@]}" | median); CK=$(printf '%s\n' "${ck[@]}" | median)
  points=$(grep -o '[0-9]* of [0-9]* points' "$tmp/log1" | head -1 | cut -d' ' -f1)
  echo "| $(basename "$space") | $points | $W1 s / $C1 s | $WK s / $CK s | $(awk -v a="$W1" -v b="$WK" 'BEGIN {printf "%.2fx", a / b}') |"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
