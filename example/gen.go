package main

// The generated code under proto/ is committed; regenerate it after editing a
// .proto file (needs protoc on PATH; the Go plugins are pinned in go.mod).
//go:generate bash gen.sh
