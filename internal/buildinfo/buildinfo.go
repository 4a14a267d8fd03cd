// Package buildinfo is the version and commit a binary was built from,
// shared by the controller, the image updater and the kubectl plugin.
//
// The release is set at build time:
//
//	go build -ldflags "-X github.com/switchyard-dev/switchyard/internal/buildinfo.Version=v1.2.3"
//
// The commit, its time and whether the tree was modified come from the
// version-control stamp Go embeds in every binary built inside the
// repository.
package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version is the release, set at build time with -ldflags -X.
var Version = "v0.0.0-dev"

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
	return fromSettings(Version, settings)
}

func fromSettings(version string, settings []debug.BuildSetting) Info {
	info := Info{
		Version:      version,
		GitTreeState: "unknown",
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
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
