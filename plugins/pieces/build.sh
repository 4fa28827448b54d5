#!/bin/sh
# Builds every piece of plugins/pieces into bin/pieces/<id>.wasm (or into
# the directory given as the first argument). Go pieces are WASI reactors
# built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared. Pieces written in
# WebAssembly text (<id>/<id>.wat) ship assembled beside their source
# (<id>/<id>.wasm), so the build needs nothing but Go; the wasm runtime's
# tests assemble the .wat with wat2wasm (Debian package wabt, installed by
# scripts/deps.sh) and fail when the two differ. After editing a .wat:
#   wat2wasm -o plugins/pieces/<id>/<id>.wasm plugins/pieces/<id>/<id>.wat
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-"$root/bin/pieces"}
mkdir -p "$out"
cd "$root"
for dir in plugins/pieces/*/; do
	id=$(basename "$dir")
	if [ -f "$dir/main.go" ]; then
		echo "piece $id (go)"
		GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o "$out/$id.wasm" "./$dir"
	elif [ -f "$dir/$id.wat" ]; then
		echo "piece $id (wat)"
		if [ ! -f "$dir/$id.wasm" ]; then
			echo "build.sh: $dir$id.wasm is missing; assemble it: wat2wasm -o $dir$id.wasm $dir$id.wat" >&2
			exit 1
		fi
		# Copied then renamed, so a running host never loads half a module.
		cp "$dir/$id.wasm" "$out/$id.wasm.tmp"
		mv "$out/$id.wasm.tmp" "$out/$id.wasm"
	fi
done
