#!/usr/bin/env bash
# Builds the static library and examples/mpi/shard.c with mpicc, runs it with
# 1, 2 and 4 ranks, and prints, as its last line, the largest relative
# difference from the single-process calls over all runs. Exits non-zero if
# a run fails its checks or the difference is above the bound (2e-6: the
# gradient's; losses are held to 1.3e-6 by the program itself).
# Needs Open MPI (Debian: libopenmpi-dev openmpi-bin).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${MLCCE_MPI_OUT:-$root/target/mpi}
mkdir -p "$out"
sh "$root/ffi-tests/integration/build-c-lib.sh" "$out/prefix" >/dev/null
mpicc -std=c99 -O2 -Wall -Wextra -Werror -I"$out/prefix/include" "$root/examples/mpi/shard.c" \
  "$out/prefix/lib/libmlcce.a" -lm -o "$out/shard"
# Run as root where needed; shared memory without ptrace-based single copy
# (containers forbid it).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
worst=0
for n in 1 2 4; do
  log="$out/run-$n.log"
  mpirun --oversubscribe -n "$n" "$out/shard" | tee "$log"
  d=$(sed -n 's/^max rel diff vs single process: //p' "$log")
  worst=$(awk -v a="$worst" -v b="$d" 'BEGIN { print (b > a) ? b : a }')
done
echo "max rel diff vs single process: $worst"
awk -v w="$worst" 'BEGIN { exit !(w <= 2e-6) }'
