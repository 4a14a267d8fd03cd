package sidemodule

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSourceHash(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hash := func() string {
		t.Helper()
		h, err := sourceHash(dir)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	write("go.mod", "module example.com/side\n\ngo 1.26.0\n")
	write("cmd/tool/main.go", "package main\n\nfunc main() {}\n")
	base := hash()

	write("README.md", "notes\n")
	if h := hash(); h != base {
		t.Errorf("a file other than Go sources, go.mod and go.sum changed the key: %s -> %s", base, h)
	}
	write("go.sum", "example.com/dep v1.0.0 h1:abc=\n")
	withSum := hash()
	if withSum == base {
		t.Error("adding go.sum kept the key")
	}
	write("go.mod", "module example.com/side\n\ngo 1.26.0\n\nrequire example.com/dep v1.0.0\n")
	if h := hash(); h == withSum {
		t.Error("changing go.mod kept the key")
	}
}

func TestComplete(t *testing.T) {
	dir := t.TempDir()
	if !complete(dir, nil) {
		t.Error("no outputs: want complete")
	}
	if complete(dir, []string{"registry"}) {
		t.Error("missing output: want incomplete")
	}
	if err := os.WriteFile(filepath.Join(dir, "registry"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if !complete(dir, []string{"registry"}) {
		t.Error("output present: want complete")
	}
}
