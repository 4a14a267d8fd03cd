package registry

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// DefaultScriptTimeout bounds a credential script's run. The reference's
// fixed 10s was too short for some (argocd-image-updater #657); this is a
// default, not a limit.
const DefaultScriptTimeout = 30 * time.Second

// maxScriptOutput bounds what is read of a script's stdout and stderr.
const maxScriptOutput = 64 << 10

// RunCredentialScript runs the executable at path with no arguments and
// no shell, and reads registry credentials from the first non-empty line
// of its stdout, "user:password" (as `aws ecr get-authorization-token ...
// | base64 -d` prints "AWS:<token>"). The script inherits the
// controller's environment (its cloud identity). Errors never quote
// stdout, which holds the secret; they quote the start of stderr.
func RunCredentialScript(ctx context.Context, path string, timeout time.Duration) (authn.AuthConfig, error) {
	if !filepath.IsAbs(path) {
		return authn.AuthConfig{}, fmt.Errorf("credential script %q: the path must be absolute", path)
	}
	if timeout <= 0 {
		timeout = DefaultScriptTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	var stdout, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second // do not wait for grandchildren holding the pipes
	err := cmd.Run()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return authn.AuthConfig{}, fmt.Errorf("credential script %s: no answer within %s", path, timeout)
	}
	if err != nil {
		return authn.AuthConfig{}, fmt.Errorf("credential script %s: %w%s", path, err, stderrTail(stderr.Bytes()))
	}
	sc := bufio.NewScanner(bytes.NewReader(stdout.Bytes()))
	sc.Buffer(make([]byte, 0, 4096), maxScriptOutput)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		user, pass, ok := strings.Cut(line, ":")
		if !ok || user == "" || pass == "" {
			return authn.AuthConfig{}, fmt.Errorf("credential script %s: its first line of output is not user:password", path)
		}
		return authn.AuthConfig{Username: user, Password: pass}, nil
	}
	return authn.AuthConfig{}, fmt.Errorf("credential script %s printed nothing; it must print user:password%s", path, stderrTail(stderr.Bytes()))
}

func stderrTail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	if len(s) > 256 {
		s = s[:256] + "..."
	}
	return " (stderr: " + s + ")"
}

// limitedBuffer keeps the first maxScriptOutput bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxScriptOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
