#!/usr/bin/env bash
# `mpirun -n 2 qaccel explore` writes the same outputs as one process, for the
# exhaustive and the genetic search (docs/dse.md, Scale-out). Usage:
#   two_ranks.sh QACCEL MPIRUN SOURCE_DIR
set -euo pipefail
Q=$1 MPIRUN=$2 SRC=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat >"$T/space.toml" <<'TOML'
[array]
rows = { min = 4, max = 64, pow2 = true }
cols = { min = 4, max = 64, pow2 = true }
dataflows = ["os", "ws", "is", "rs"]
[memory]
ifmap_sram_kb = [32, 64]
filter_sram_kb = [32, 64]
ofmap_sram_kb = 32
[objective]
metric = "edp"
[search.genetic]
population = 12
generations = 4
TOML
for s in exhaustive genetic; do
  "$Q" explore "$T/space.toml" -m lenet5 --strategy "$s" --seed 3 -q -o "$T/one_$s" >/dev/null
  "$MPIRUN" --oversubscribe --allow-run-as-root -n 2 \
    "$Q" explore "$T/space.toml" -m lenet5 --strategy "$s" --seed 3 -q --threads 1 -o "$T/two_$s" >/dev/null
  for f in points.csv pareto_cycles_pes.csv pareto_cycles_energy.csv pareto.svg best.json; do
    cmp "$T/one_$s/$f" "$T/two_$s/$f" || { echo "FAIL: $s $f differs between 1 and 2 ranks"; exit 1; }
  done
  grep -q '"processes": 2' "$T/two_$s/manifest.json" || { echo "FAIL: $s manifest lacks processes 2"; exit 1; }
  echo "ok: $s, $(($(wc -l <"$T/one_$s/points.csv") - 1)) points identical on 1 and 2 ranks"
done
