// Command debugz opens the snapshots that debugz.WriteSnapshot and the
// pages' "Save snapshot" write, with the same pages, read-only:
//
//	go run github.com/debugz/debugz/cmd/debugz view FILE
//	go run github.com/debugz/debugz/cmd/debugz view BEFORE AFTER
//
// With one file it serves that moment's pages; with two, a page that sets
// them side by side per method (calls, error rate, p50, p99, the codes
// that appeared or vanished), and each one's pages under /a/ and /b/. It
// listens on localhost only: a snapshot holds what the pages hold.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/debugz/debugz/internal/snapshot"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "debugz:", err)
		os.Exit(2)
	}
}

const usage = "usage: debugz view [-addr localhost:6070] FILE [FILE2]"

func run(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "view" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("view", flag.ContinueOnError)
	addr := fs.String("addr", "localhost:6070", "where to listen: keep it on localhost")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return errors.New(usage)
	}
	var snaps []*snapshot.Snapshot
	for _, name := range fs.Args() {
		s, err := open(name)
		if err != nil {
			return err
		}
		snaps = append(snaps, s)
	}
	h := viewer(snaps...)
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	for i, s := range snaps {
		fmt.Fprintf(out, "%s: %s\n", fs.Arg(i), banner(&s.Meta))
	}
	fmt.Fprintf(out, "serving on http://%s/ (the process's build and runtime: /snapshot", lis.Addr())
	if len(snaps) > 1 {
		fmt.Fprint(out, " under /a/ and /b/")
	}
	fmt.Fprintln(out, ")")
	log.SetFlags(0)
	return http.Serve(lis, h)
}

func open(name string) (*snapshot.Snapshot, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := snapshot.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}
