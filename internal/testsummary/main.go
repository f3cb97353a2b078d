// Command testsummary reads `go test -json` on standard input, prints the
// output of every failed test and package as it comes, a line per
// package, and closes with one line counting tests:
//
//	tests: 812 passed, 0 failed, 1 skipped
//
// It exits 1 if any test or package failed, or if no test ran at all,
// so CI cannot pass on a run that tested nothing.
//
// Usage:
//
//	go test -race -json ./... | go run ./internal/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type counts struct {
	passed, failed, skipped, pkgFailed int
}

func main() {
	c, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	fmt.Printf("tests: %d passed, %d failed, %d skipped\n", c.passed, c.failed, c.skipped)
	if c.failed > 0 || c.pkgFailed > 0 || c.passed == 0 {
		os.Exit(1)
	}
}

func summarize(r io.Reader, w io.Writer) (counts, error) {
	var c counts
	// Output is kept per test until the test ends, and printed only if it
	// failed, so a green run stays short.
	output := map[[2]string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Build errors arrive as plain text: pass them through.
			fmt.Fprintln(w, sc.Text())
			continue
		}
		key := [2]string{e.Package, e.Test}
		switch e.Action {
		case "output":
			output[key] = append(output[key], e.Output)
		case "pass", "fail", "skip":
			if e.Action == "fail" {
				for _, line := range output[key] {
					fmt.Fprint(w, line)
				}
			}
			delete(output, key)
			if e.Test == "" {
				if e.Action == "fail" {
					c.pkgFailed++
				}
				fmt.Fprintf(w, "%-4s %s %.1fs\n", e.Action, e.Package, e.Elapsed)
				continue
			}
			switch e.Action {
			case "pass":
				c.passed++
			case "fail":
				c.failed++
			case "skip":
				c.skipped++
			}
		}
	}
	return c, sc.Err()
}
