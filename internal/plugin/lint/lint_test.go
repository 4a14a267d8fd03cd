package lint_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/lint"
)

// lint needs no API server: these tests run the command on files.
func run(t *testing.T, file string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	f := cli.NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out})
	cmd := lint.NewCmd(f)
	cmd.SetArgs([]string{"-f", file})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestLintSeeds(t *testing.T) {
	for _, seed := range []string{"bluegreen-rollout.yaml", "canary-rollout.yaml"} {
		out, err := run(t, filepath.Join("..", "..", "..", "examples", seed))
		if err != nil || out != "" {
			t.Errorf("%s: err=%v output=%q, want a clean lint", seed, err, out)
		}
	}
}

func TestLintReportsEveryProblemWithItsPath(t *testing.T) {
	out, err := run(t, filepath.Join("testdata", "invalid.yaml"))
	if err == nil {
		t.Fatal("lint succeeded on an invalid file")
	}
	want := []string{
		"rollout 'wrong-labels' (document 2): spec.template.metadata.labels: Invalid value:",
		"rollout 'wrong-labels' (document 2): spec.strategy.blueGreen.previewService: Invalid value: \"backend-active\"",
		`rollout 'typo' (document 3): error unmarshaling JSON: while decoding JSON: json: unknown field "stratgy"`,
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "document 1") {
		t.Errorf("the Service document was linted:\n%s", out)
	}
	if !strings.Contains(err.Error(), "3 problem(s)") {
		t.Errorf("err = %v, want a count of 3 problems", err)
	}
}

func TestLintNeedsAFileWithARollout(t *testing.T) {
	if _, err := run(t, filepath.Join("testdata", "missing.yaml")); err == nil {
		t.Error("lint of a missing file succeeded")
	}
	if _, err := run(t, filepath.Join("..", "..", "..", "config", "crd", "kustomization.yaml")); err == nil || !strings.Contains(err.Error(), "no Rollout found") {
		t.Errorf("err = %v, want no Rollout found", err)
	}
}

func TestLintChecksTemplatesInTheFile(t *testing.T) {
	out, err := run(t, filepath.Join("testdata", "analysis.yaml"))
	if err == nil || !strings.Contains(err.Error(), "2 problem(s)") {
		t.Fatalf("err = %v, want 2 problems; output:\n%s", err, out)
	}
	want := []string{
		`rollout 'missing-arg' (document 3): spec.strategy.canary.steps[1].analysis.args: Invalid value: "url": missing analysis arguments in rollout spec`,
		`rollout 'never-ends' (document 4): spec.strategy.blueGreen.prePromotionAnalysis.templates: Invalid value: "error-rate": ` +
			`AnalysisTemplate error-rate has metric error-rate which runs indefinitely. Invalid value for count: <nil>`,
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "background-fine") {
		t.Errorf("a background analysis may run indefinitely, and templates not in the file are not looked up:\n%s", out)
	}
}
