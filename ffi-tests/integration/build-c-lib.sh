#!/usr/bin/env sh
# Builds mlcce for C/C++ projects and installs it under PREFIX:
#   PREFIX/include/mlcce.h
#   PREFIX/lib/libmlcce.a
#   PREFIX/lib/libmlcce.so.VERSION, with the links libmlcce.so.SONAME_VERSION
#   (the SONAME: MAJOR, or 0.MINOR before 1.0) and libmlcce.so
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
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
if [ "$major" = 0 ]; then soversion=0.$minor; else soversion=$major; fi
cargo rustc --release --lib --crate-type staticlib --features c-panic-handler --target-dir "$target" "$@"
# Rust exports only the #[no_mangle] extern "C" functions of a cdylib (a
# version script hides everything else); the SONAME is set here.
cargo rustc --release --lib --crate-type cdylib --features c-panic-handler --target-dir "$target" "$@" \
  -- -C "link-arg=-Wl,-soname,libmlcce.so.$soversion"
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
cp include/mlcce.h "$prefix/include/"
cp "$target/release/libmlcce.a" "$prefix/lib/"
cp "$target/release/libmlcce.so" "$prefix/lib/libmlcce.so.$version"
ln -sf "libmlcce.so.$version" "$prefix/lib/libmlcce.so.$soversion"
ln -sf "libmlcce.so.$soversion" "$prefix/lib/libmlcce.so"
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
