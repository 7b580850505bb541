#!/usr/bin/env bash
# consumer.sh checks what adding debugz does to a service's dependencies, as a
# new user would see it: a gRPC service on otelgrpc v0.46.1 (the interceptor
# API, removed in later versions) adds debugz and runs go mod tidy. It must
# still build, keep its otelgrpc version, list at most 60 modules, and link
# none of debugz's test, example or tool dependencies.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export GOWORK=off GOFLAGS=-mod=mod
cat >go.mod <<MOD
module example.com/svc

go 1.25.0

require go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc v0.46.1

replace github.com/debugz/debugz => $repo
MOD
cat >main.go <<'GO'
package main

import (
	"net"
	"net/http"

	"github.com/debugz/debugz"
	"github.com/debugz/debugz/grpcstats"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
)

func main() {
	sp := debugz.NewSpanProcessor()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp))
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(otelgrpc.UnaryServerInterceptor(otelgrpc.WithTracerProvider(tp))),
		grpc.StatsHandler(grpcstats.WrapHandler(nil)),
	)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(lis) }()
	_ = http.ListenAndServe("localhost:6060", debugz.NewHandler(sp))
}
GO
go get github.com/debugz/debugz@v0.0.0 >/dev/null 2>&1 || true
go mod tidy
go build -o /dev/null .
otelgrpc=$(go list -m -f '{{.Version}}' go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc)
modules=$(go list -m all | wc -l)
echo "otelgrpc after tidy: $otelgrpc; modules: $modules"
test "$otelgrpc" = v0.46.1 || { echo "adding debugz changed otelgrpc to $otelgrpc"; exit 1; }
go list -m all >"${CONSUMER_MODULES:-/dev/null}"
test "$modules" -le 60 || { echo "$modules modules in go list -m all; want at most 60"; go list -m all; exit 1; }
bad=$(go list -deps . | grep -E 'grpc-gateway|chromedp|sdk/trace/tracetest|a-h/templ/cmd|otlptrace|protoc-gen' || true)
test -z "$bad" || { echo "linked into the service: $bad"; exit 1; }
echo "consumer ok"
