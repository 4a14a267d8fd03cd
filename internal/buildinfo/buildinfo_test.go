package buildinfo

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromSettings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stamped   Info
		settings  []debug.BuildSetting
		version   string
		commit    string
		treeState string
	}{
		{"no vcs stamp", Info{}, nil, "v1.2.3", "", "unknown"},
		{"clean tree", Info{}, []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "false"},
		}, "v1.2.3+0123456", "0123456789abcdef", "clean"},
		{"dirty tree", Info{}, []debug.BuildSetting{
			{Key: "vcs.revision", Value: "fedcba9876543210"},
			{Key: "vcs.modified", Value: "true"},
		}, "v1.2.3+fedcba9", "fedcba9876543210", "dirty"},
		{"stamped by -X wins over vcs", Info{GitCommit: "aaaaaaa111", GitTreeState: "clean"}, []debug.BuildSetting{
			{Key: "vcs.revision", Value: "fedcba9876543210"},
			{Key: "vcs.modified", Value: "true"},
		}, "v1.2.3+aaaaaaa", "aaaaaaa111", "clean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stamped := tc.stamped
			stamped.Version = "v1.2.3"
			got := fromSettings(stamped, tc.settings)
			if got.Version != tc.version || got.GitCommit != tc.commit || got.GitTreeState != tc.treeState {
				t.Errorf("got version %q commit %q tree %q, want %q %q %q",
					got.Version, got.GitCommit, got.GitTreeState, tc.version, tc.commit, tc.treeState)
			}
		})
	}
}

func TestPrint(t *testing.T) {
	info := fromSettings(Info{Version: "v1.2.3"}, []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}})
	for _, tc := range []struct {
		short bool
		lines int
	}{{false, 7}, {true, 1}} {
		var out bytes.Buffer
		info.Print(&out, "switchyard", tc.short)
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != tc.lines || lines[0] != "switchyard: v1.2.3+0123456" {
			t.Errorf("short=%v printed:\n%s", tc.short, out.String())
		}
		if !tc.short && lines[2] != "  GitCommit: 0123456789abcdef" {
			t.Errorf("commit line %q", lines[2])
		}
	}
}
