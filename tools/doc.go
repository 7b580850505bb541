// Package tools pins the generators and linters debugz is developed with
// (templ, protoc-gen-go, protoc-gen-go-grpc, staticcheck) in a module of their
// own, so that none of them reaches the module graph of a service that
// requires debugz. Run them from the repository root as go tool NAME.
package tools
