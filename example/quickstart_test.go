package main

import (
	"os"
	"regexp"
	"testing"
)

// The README's quick start is quickstart/main.go, as it stands: the program
// CI compiles is the one a newcomer copies.
func TestReadmeQuickStart(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Quick start\n\n```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no ```go block under '## Quick start'")
	}
	prog, err := os.ReadFile("quickstart/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(m[1]) != string(prog) {
		t.Errorf("README's quick start differs from example/quickstart/main.go; copy the file into the README")
	}
}
