#!/bin/sh
# Builds every piece of plugins/pieces into bin/pieces/<id>.wasm (or into
# the directory given as the first argument). Go pieces are WASI reactors
# built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared; pieces written
# in WebAssembly text (<id>/<id>.wat) are assembled with wat2wasm (Debian
# package wabt).
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
		wat2wasm -o "$out/$id.wasm" "$dir/$id.wat"
	fi
done
