// Package buildinfo is the version and commit a binary was built from,
// shared by the controller, the image updater and the kubectl plugin.
//
// The release is set at build time:
//
//	go build -ldflags "-X github.com/switchyard-dev/switchyard/internal/buildinfo.Version=v1.2.3"
//
// and so, by hack/images, are the commit, its time and the tree state. Left
// empty, they come from the version-control stamp Go embeds in a binary
// built inside a git checkout (not a linked worktree, and not with
// -buildvcs=false).
package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at build time with -ldflags -X.
var (
	// Version is the release.
	Version = "v0.0.0-dev"
	// Commit is the full commit hash.
	Commit string
	// CommitDate is the commit's time, RFC 3339.
	CommitDate string
	// TreeState is "clean", or "dirty" when the tree had changes.
	TreeState string
)

// Info is the build information of a binary.
type Info struct {
	Version, BuildDate, GitCommit, GitTreeState, GoVersion, Compiler, Platform string
}

// Get reads the build information of the running binary.
func Get() Info {
	var settings []debug.BuildSetting
	if bi, ok := debug.ReadBuildInfo(); ok {
		settings = bi.Settings
	}
	return fromSettings(Info{Version: Version, GitCommit: Commit, BuildDate: CommitDate, GitTreeState: TreeState}, settings)
}

// fromSettings completes stamped with the VCS settings Go embedded, where
// nothing was stamped, and with the Go runtime's facts.
func fromSettings(stamped Info, settings []debug.BuildSetting) Info {
	info := stamped
	info.GoVersion, info.Compiler, info.Platform = runtime.Version(), runtime.Compiler, runtime.GOOS+"/"+runtime.GOARCH
	if info.GitCommit == "" {
		for _, s := range settings {
			switch s.Key {
			case "vcs.revision":
				info.GitCommit = s.Value
			case "vcs.time":
				info.BuildDate = s.Value
			case "vcs.modified":
				info.GitTreeState = map[string]string{"true": "dirty", "false": "clean"}[s.Value]
			}
		}
	}
	if info.GitTreeState == "" {
		info.GitTreeState = "unknown"
	}
	// As Argo Rollouts prints it, "v1.6.0+7eae71e": the release and the commit.
	if len(info.GitCommit) >= 7 {
		info.Version += "+" + info.GitCommit[:7]
	}
	return info
}

// Print writes "program: version" and, unless short, the build details one
// per line.
func (i Info) Print(w io.Writer, program string, short bool) {
	fmt.Fprintf(w, "%s: %s\n", program, i.Version)
	if short {
		return
	}
	fmt.Fprintf(w, "  BuildDate: %s\n", i.BuildDate)
	fmt.Fprintf(w, "  GitCommit: %s\n", i.GitCommit)
	fmt.Fprintf(w, "  GitTreeState: %s\n", i.GitTreeState)
	fmt.Fprintf(w, "  GoVersion: %s\n", i.GoVersion)
	fmt.Fprintf(w, "  Compiler: %s\n", i.Compiler)
	fmt.Fprintf(w, "  Platform: %s\n", i.Platform)
}
