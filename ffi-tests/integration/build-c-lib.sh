#!/usr/bin/env sh
# Builds mlcce for C/C++ projects and installs it under PREFIX:
#   PREFIX/include/mlcce.h
#   PREFIX/lib/libmlcce.a, PREFIX/lib/libmlcce.so
#   PREFIX/lib/pkgconfig/mlcce.pc
# Usage: ffi-tests/integration/build-c-lib.sh PREFIX [extra cargo rustc args]
# Environment: RUSTFLAGS (e.g. "-C target-cpu=x86-64-v3"),
#   CARGO_PROFILE_RELEASE_OPT_LEVEL=s for a size-optimised build,
#   MLCCE_TARGET_DIR (default: target/c-lib).
set -eu
prefix=${1:?usage: build-c-lib.sh PREFIX}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${MLCCE_TARGET_DIR:-$root/target/c-lib}
cd "$root"
for kind in staticlib cdylib; do
  cargo rustc --release --lib --crate-type "$kind" --features c-panic-handler --target-dir "$target" "$@"
done
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
cp include/mlcce.h "$prefix/include/"
cp "$target/release/libmlcce.a" "$target/release/libmlcce.so" "$prefix/lib/"
cat > "$prefix/lib/pkgconfig/mlcce.pc" <<PC
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: mlcce
Description: Multi-label categorical cross-entropy (ZLPR / GlobalPointer loss), no heap, no libc
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lmlcce
Libs.private:
PC
echo "installed mlcce $version to $prefix"
