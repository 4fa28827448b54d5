#!/bin/sh
# genproto.sh regenerates sdk/internal/pb from sdk/proto (the published protocol).
# It needs no protoc binary: buf compiles the .proto files and runs the
# Go plugins installed here from the Go module proxy. Where protoc is on
# the PATH it compiles them instead.
set -eu
cd "$(dirname "$0")/.."
GOBIN="${GOBIN:-$(go env GOPATH)/bin}"
export PATH="$GOBIN:$PATH"
command -v protoc-gen-go >/dev/null 2>&1 || go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6
command -v protoc-gen-go-grpc >/dev/null 2>&1 || go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
if command -v protoc >/dev/null 2>&1; then
	rm -f internal/pb/*.pb.go
	protoc -I proto \
		--go_out=internal/pb --go_opt=paths=source_relative \
		--go-grpc_out=internal/pb --go-grpc_opt=paths=source_relative \
		proto/atom/plugin/v1/plugin.proto
	find internal/pb -name '*.pb.go' -path '*/atom/*' -exec mv {} internal/pb/ \;
	rm -rf internal/pb/atom
	exit 0
fi
command -v buf >/dev/null 2>&1 || go install github.com/bufbuild/buf/cmd/buf@v1.47.2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/buf.gen.yaml" <<'YAML'
version: v2
plugins:
  - local: protoc-gen-go
    out: internal/pb
    opt: paths=source_relative
  - local: protoc-gen-go-grpc
    out: internal/pb
    opt: paths=source_relative
YAML
rm -f internal/pb/*.pb.go
buf generate proto --template "$tmp/buf.gen.yaml"
# buf writes paths relative to the module root (atom/plugin/v1/...);
# flatten them into the single pb package.
find internal/pb -name '*.pb.go' -path '*/atom/*' -exec mv {} internal/pb/ \;
rm -rf internal/pb/atom
