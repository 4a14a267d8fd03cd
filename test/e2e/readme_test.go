package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/test/tools"
)

// walkthroughStep is one "$ command" of the README's walkthrough and the
// output the README shows for it.
type walkthroughStep struct {
	command string
	output  []string
}

// readWalkthrough extracts the console blocks of the README's walkthrough
// section, in order.
func readWalkthrough(t *testing.T) []walkthroughStep {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []walkthroughStep
	inSection, inBlock := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			inSection = strings.HasPrefix(line, "## Walkthrough")
		case !inSection:
		case strings.HasPrefix(line, "```console"):
			inBlock = true
		case strings.HasPrefix(line, "```"):
			inBlock = false
		case inBlock && strings.HasPrefix(line, "$ "):
			steps = append(steps, walkthroughStep{command: strings.TrimPrefix(line, "$ ")})
		case inBlock && len(steps) > 0:
			steps[len(steps)-1].output = append(steps[len(steps)-1].output, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return steps
}

var (
	digestPattern = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	spaces        = regexp.MustCompile(`\s+`)
)

func normalize(line string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(digestPattern.ReplaceAllString(line, "sha256:DIGEST"), " "))
}

// TestREADMEWalkthrough runs the README's sandbox command and then every
// command of its walkthrough, in order, as a user would type them, and
// checks each command's first line of output against the README's.
func TestREADMEWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		tools.Missing(t, "kubectl is not installed: the walkthrough's commands run it")
	}
	if _, err := os.Stat(filepath.Join(root, ".sandbox", "state.json")); err == nil {
		t.Skip("a developer sandbox is running in .sandbox; the walkthrough would replace it (make sandbox-down first)")
	}
	t.Parallel()
	steps := readWalkthrough(t)
	if len(steps) < 10 {
		t.Fatalf("found %d walkthrough commands in README.md; the section or its console blocks moved", len(steps))
	}

	// A fresh shell: no kubeconfig yet, and no make variables from a
	// `make test` above us (a nested make announces its directories).
	var environ []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "MAKELEVEL", "MAKEFLAGS", "MFLAGS", "KUBECONFIG":
		default:
			environ = append(environ, kv)
		}
	}
	run := func(command string, timeout time.Duration) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", command)
		cmd.Dir = root
		cmd.Env = environ
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if out, err := run("make sandbox-down", 2*time.Minute); err != nil {
			t.Errorf("make sandbox-down: %v\n%s", err, out)
		}
	})
	if out, err := run("make sandbox", 40*time.Minute); err != nil {
		t.Fatalf("make sandbox: %v\n%s", err, out)
	}

	for _, step := range steps {
		if strings.HasPrefix(step.command, "export ") {
			// Keep the variables for the commands that follow.
			out, err := run(step.command+" && env -0", time.Minute)
			if err != nil {
				t.Fatalf("%s: %v\n%s", step.command, err, out)
			}
			environ = strings.Split(strings.TrimRight(out, "\x00"), "\x00")
			continue
		}
		out, err := run(step.command, 4*time.Minute)
		var want string
		if len(step.output) > 0 {
			want = normalize(step.output[0])
		}
		expectFailure := strings.HasPrefix(want, "Degraded")
		if strings.Contains(step.command, " status ") && len(step.output) > 0 {
			// status prints each change while it watches; the README shows
			// where it ends.
			want = normalize(step.output[len(step.output)-1])
		}
		if (err != nil) != expectFailure {
			t.Fatalf("$ %s\nexit: %v (README expects failure: %v)\n%s", step.command, err, expectFailure, out)
		}
		if want == "" || want == "..." {
			continue
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		got := normalize(lines[0])
		if strings.Contains(step.command, " status ") {
			got = normalize(lines[len(lines)-1])
		}
		if got != want {
			t.Fatalf("$ %s\nREADME shows: %q\ngot:          %q\nfull output:\n%s", step.command, want, got, out)
		}
		t.Logf("$ %s -> %s", step.command, got)
	}
}
