package testprog

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build compiles the main package pkg (a path relative to the module
// root, such as "./examples/echo") into dir and returns the binary's
// path. With race set the binary has the race detector, so that a suite
// running under -race catches races on the server's side too.
func Build(dir, pkg string, race bool) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, filepath.Base(pkg))
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}
