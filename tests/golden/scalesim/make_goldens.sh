#!/usr/bin/env bash
# Regenerates the SCALE-Sim v2 golden reports listed in cases.txt.
#   SCALESIM_DIR=/path/to/scale-sim-v2 tests/golden/scalesim/make_goldens.sh [case ...]
# Runs SCALE-Sim v2 (its scalesim/scale.py, with Debian's /usr/bin/python3 and
# numpy) on inputs/<config> + inputs/<topology> and copies its three report
# CSVs into <case>/. Existing goldens are kept unless FORCE=1 or the case is
# named on the command line. The AlexNet cases take minutes each.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${SCALESIM_DIR:?set SCALESIM_DIR to a scale-sim-v2 checkout}"
py=/usr/bin/python3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
only=("$@")
while read -r name cfg topo kind; do
  [[ -z "${name}" || "${name}" == \#* ]] && continue
  if ((${#only[@]})); then
    printf '%s\n' "${only[@]}" | grep -qx "$name" || continue
  elif [[ -f "$here/$name/COMPUTE_REPORT.csv" && "${FORCE:-0}" != 1 ]]; then
    continue
  fi
  echo "== $name"
  run_name="$(sed -n 's/^run_name *= *//p' "$here/inputs/$cfg" | tr -d '[:space:]')"
  (cd "$SCALESIM_DIR" && PYTHONPATH=. "$py" scalesim/scale.py -c "$here/inputs/$cfg" -t "$here/inputs/$topo" \
      -i "$kind" -p "$work/$name" >"$work/$name.log" 2>&1) || { echo "SCALE-Sim failed on $name"; tail "$work/$name.log"; exit 1; }
  mkdir -p "$here/$name.tmp"
  for f in COMPUTE_REPORT BANDWIDTH_REPORT DETAILED_ACCESS_REPORT; do
    cp "$work/$name/$run_name/$f.csv" "$here/$name.tmp/$f.csv"
  done
  rm -rf "$here/$name" && mv "$here/$name.tmp" "$here/$name"
done <"$here/cases.txt"
