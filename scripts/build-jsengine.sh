#!/usr/bin/env bash
# Builds host/internal/runtimes/jspiece/engine/quickjs.wasm: QuickJS
# (2021-03-27, the C sources shipped in the npm package qjsc@0.3.0) with
# engine/glue.c, compiled to wasm32-wasi by Debian's clang-14, lld-14 and
# wasi-libc. The result is committed; engine_test.go checks its SHA-256
# against engine/quickjs.wasm.sha256, which this script rewrites.
#
# Patches applied to quickjs.c, all for wasm32-wasi: no Atomics (no threads),
# no computed-goto dispatch, no printf rounding-mode trick (wasm has one
# rounding mode), malloc_usable_size from <malloc.h>.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/host/internal/runtimes/jspiece/engine"
QJSC_VERSION=0.3.0

need=()
[ -x /usr/lib/llvm-14/bin/clang ] || need+=(clang-14)
[ -x /usr/lib/llvm-14/bin/wasm-ld ] || need+=(lld-14)
[ -f /usr/lib/wasm32-wasi/libc.a ] || need+=(wasi-libc)
[ -f /usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi/libclang_rt.builtins-wasm32.a ] || need+=(libclang-rt-14-dev-wasm32)
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq >/dev/null
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "qjsc@$QJSC_VERSION" >/dev/null && tar xzf "qjsc-$QJSC_VERSION.tgz")
src="$work/package/deps/quickjs_2021_03_27"
sed -i 's/^#if defined(EMSCRIPTEN) || defined(_MSC_VER)$/& || defined(__wasi__)/' "$src/quickjs.c"
sed -i '0,/^#if !defined(_WIN32)$/s//#if !defined(_WIN32) \&\& !defined(__wasi__)/' "$src/quickjs.c"
sed -i '/^#if !defined(EMSCRIPTEN)$/{N;s/^\(#if !defined(EMSCRIPTEN)\)\(\n#define CONFIG_ATOMICS\)/\1 \&\& !defined(__wasi__)\2/}' "$src/quickjs.c"

# A sysroot in the layout clang expects, over Debian's multiarch paths.
mkdir -p "$work/sysroot/lib"
ln -s /usr/include/wasm32-wasi "$work/sysroot/include"
ln -s /usr/lib/wasm32-wasi "$work/sysroot/lib/wasm32-wasi"

cc=(/usr/lib/llvm-14/bin/clang --target=wasm32-wasi --sysroot="$work/sysroot" -O2
  -ffile-prefix-map="$work"=. -DCONFIG_VERSION='"2021-03-27"' -DCONFIG_BIGNUM -D_GNU_SOURCE -include malloc.h)
objs=()
for f in quickjs cutils libregexp libunicode libbf; do
  "${cc[@]}" -c "$src/$f.c" -o "$work/$f.o"
  objs+=("$work/$f.o")
done
"${cc[@]}" -I"$src" -c "$out/glue.c" -o "$work/glue.o"
/usr/lib/llvm-14/bin/clang --target=wasm32-wasi --sysroot="$work/sysroot" -fuse-ld=/usr/lib/llvm-14/bin/wasm-ld \
  -mexec-model=reactor -Wl,-z,stack-size=1048576 -Wl,--strip-all \
  -o "$out/quickjs.wasm" "$work/glue.o" "${objs[@]}"
(cd "$out" && sha256sum quickjs.wasm >quickjs.wasm.sha256)
echo "built $out/quickjs.wasm ($(stat -c %s "$out/quickjs.wasm") bytes)"
