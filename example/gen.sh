#!/usr/bin/env bash
# gen.sh regenerates the Go code of the example's protos with protoc and the
# plugin versions pinned by go.mod's tool directive. Run it from anywhere, or
# as `go generate ./example`. The output is deterministic: running it twice
# changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

protoc \
	--plugin=protoc-gen-go="$(go tool -n protoc-gen-go)" \
	--plugin=protoc-gen-go-grpc="$(go tool -n protoc-gen-go-grpc)" \
	--proto_path=. \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	example/proto/user/user.proto \
	example/proto/payment/payment.proto
