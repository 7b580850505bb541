package web

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// doc.go alone documents the package: a comment right above the package
// clause of any other file, such as the version line templ writes into every
// _templ.go file, would be read as package documentation too.
func TestOnlyDocGoDocumentsThePackage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case name == "doc.go" && !strings.HasPrefix(f.Doc.Text(), "Package web "):
			t.Errorf("doc.go's package comment = %.40q; want one starting %q", f.Doc.Text(), "Package web ")
		case name != "doc.go" && f.Doc != nil:
			t.Errorf("%s has a package comment %.40q; want it in doc.go only (for a _templ.go file, put a comment and a blank line above the package clause of its .templ file)", name, f.Doc.Text())
		}
	}
}
