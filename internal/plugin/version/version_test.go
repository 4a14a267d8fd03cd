package version_test

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/switchyard-dev/switchyard/internal/buildinfo"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/version"
)

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		lines int
	}{{nil, 7}, {[]string{"--short"}, 1}} {
		var out bytes.Buffer
		cmd := version.NewCmd(cli.NewFactory(genericiooptions.IOStreams{Out: &out, ErrOut: &out}))
		cmd.SetArgs(tc.args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != tc.lines || !strings.HasPrefix(lines[0], "kubectl-argo-rollouts: "+buildinfo.Version) {
			t.Errorf("version %v printed:\n%s", tc.args, out.String())
		}
	}
}
