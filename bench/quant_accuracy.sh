#!/bin/sh
# Accuracy of int8 post-training quantization against float, for every
# observer and both weight schemes, with qaccel's own engines.
#   bench/quant_accuracy.sh FLOAT_MODEL DATA [QACCEL] [OUTDIR]
# e.g. bench/quant_accuracy.sh runs/lenet5_mnist.qmodel mnist
# Prints one line per (scheme, observer): int8 accuracy, delta vs float in
# points, top-1 agreement with float.
set -eu
model=$1; data=$2; q=${3:-build/qaccel}; out=${4:-$(mktemp -d)}
mkdir -p "$out"
field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
facc=$("$q" eval "$model" --data "$data" --json | field accuracy)
printf 'float %s accuracy %.4f\n' "$model" "$facc"
printf '%-22s %-15s %9s %8s %10s\n' scheme observer int8_acc delta_pt agreement
for scheme in per-tensor per-channel; do
  for obs in minmax moving-average histogram entropy percentile; do
    m="$out/${scheme}_${obs}.qmodel"
    "$q" quantize "$model" --data "$data" -o "$m" --observer "$obs" --weight-scheme "$scheme" >/dev/null
    j=$("$q" eval "$m" --data "$data" --json --reference "$model")
    acc=$(echo "$j" | field accuracy); agr=$(echo "$j" | field agreement)
    /usr/bin/python3 -c "print(f'{\"$scheme\":22s} {\"$obs\":15s} {$acc:9.4f} {($acc-$facc)*100:+8.2f} {$agr*100:9.2f}%')"
  done
done
