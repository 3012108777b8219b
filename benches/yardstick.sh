#!/usr/bin/env bash
# mlcce against the speed yardsticks in one run, pinned to one core: the
# naive loop and the hand-written AVX2 + FMA kernel of benches/yardstick/
# (`opt0 d5 u2` forward, `opt0+store+scale d5 u2` forward + backward), and
# mlcce's default build (no RUSTFLAGS: the dispatcher picks the level) on
# the four workloads. Prints G logits/s and the ratios.
#   benches/yardstick.sh [core]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
core=${1:-1}
out=$root/target/yardstick
mkdir -p "$out"
gcc -O3 -march=native -o "$out/ceiling" "$root/benches/yardstick/ceiling.c" -lm
(cd "$root" && env -u RUSTFLAGS cargo build -q --release --example call_cost)
taskset -c "$core" "$out/ceiling" bench 5 0.03 > "$out/ceiling.txt"
# Per workload: ceiling rows (G/s) for naive and the reference kernels.
grab() { # $1 workload header, $2 mode, $3 kernel name
  awk -v w="$1" -v m="$2" -v k="$3" '
    /^### / { on = index($0, w) > 0 }
    on && $1 == m { line = $0; sub(/^[a-z]+ +/, "", line); if (index(line, k " ") == 1) { n = split(line, f, / +/); for (i = 1; i <= n; i++) if (f[i] == "G") { print f[i - 1]; exit } } }
  ' "$out/ceiling.txt"
}
printf '| workload | level | mlcce fwd G/s | ceiling | mlcce / ceiling | naive | mlcce fwd+bwd G/s | ceiling | mlcce / ceiling | naive |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for w in "W1 256x1000:1000 256 0.05" "W2 1x32:32 1 0.10" "W3 72x16384:16384 72 0.0005" "W4 32x131072:131072 32 0.0001"; do
  name=${w%%:*}
  set -- ${w#*:}
  line=$(taskset -c "$core" "$root/target/release/examples/call_cost" "$1" "$2" 15 64000000 "$3")
  level=$(echo "$line" | sed -n 's/.*(\(.*\) level).*/\1/p')
  f=$(echo "$line" | sed -n 's/.*loss [0-9.]* ns (\([0-9.]*\) G\/s), loss_grad.*/\1/p')
  b=$(echo "$line" | sed -n 's/.*loss_grad [0-9.]* ns (\([0-9.]*\) G\/s).*/\1/p')
  cf=$(grab "$name" fwd "opt0 d5 u2"); nf=$(grab "$name" fwd "naive")
  cb=$(grab "$name" fb "opt0+store+scale d5 u2"); nb=$(grab "$name" fb "naive")
  awk -v n="$name" -v l="$level" -v f="$f" -v cf="$cf" -v nf="$nf" -v b="$b" -v cb="$cb" -v nb="$nb" 'BEGIN {
    printf "| %s | %s | %.2f | %.2f | %.2fx | %.1fx | %.2f | %.2f | %.2fx | %.1fx |\n", n, l, f, cf, f / cf, f / nf, b, cb, b / cb, b / nb }'
done
