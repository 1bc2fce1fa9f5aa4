package ci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/scripttest"
)

// fakePyenv lays out a pyenv root under dir with the versions given
// (each a python3 script printing its version and counting its calls in
// dir/calls), a global version file naming the first, and a shim in the
// form pyenv writes. It returns the shim's path.
func fakePyenv(t *testing.T, dir string, versions ...string) string {
	t.Helper()
	root := filepath.Join(dir, "pyenv")
	write := func(p, content string, mode os.FileMode) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if mode&0o111 != 0 {
			scripttest.Write(t, p, content)
		} else if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range versions {
		write(filepath.Join(root, "versions", v, "bin", "python3"), fmt.Sprintf("#!/bin/sh\necho call >> %s\necho Python %s\n", filepath.Join(dir, "calls"), v), 0o755)
	}
	write(filepath.Join(root, "version"), versions[0]+"\n", 0o644)
	// pyenv exec, reduced to what the test needs: the global version.
	write(filepath.Join(root, "libexec", "pyenv"), "#!/bin/sh\nshift\nprog=$1\nshift\nexec \""+root+"/versions/$(cat "+root+"/version)/bin/$prog\" \"$@\"\n", 0o755)
	shim := filepath.Join(root, "shims", "python3")
	write(shim, "#!/usr/bin/env bash\nset -e\n[ -n \"$PYENV_DEBUG\" ] && set -x\n\nprogram=\"${0##*/}\"\n\nexport PYENV_ROOT=\""+root+
		"\"\nexec \""+root+"/libexec/pyenv\" exec \"$program\" \"$@\"\n", 0o755)
	return shim
}

func calls(t *testing.T, dir string) int {
	data, _ := os.ReadFile(filepath.Join(dir, "calls"))
	return strings.Count(string(data), "call")
}

// A pyenv shim's version is asked once and kept while what pyenv reads
// to choose a version is unchanged; choosing another version, or
// replacing the chosen binary, asks again. Other scripts are always
// asked.
func TestInterpreterVersionKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	shim := fakePyenv(t, dir, "3.11.1", "3.12.0")
	find := finder{path: filepath.Dir(shim) + string(os.PathListSeparator) + os.Getenv("PATH"),
		versions: &versionBook{file: filepath.Join(dir, "data", "python-versions.json")}}
	ctx := context.Background()

	if v := versionFor(ctx, shim, find); v != "3.11.1" || calls(t, dir) != 1 {
		t.Fatalf("first: %q after %d calls", v, calls(t, dir))
	}
	if v := versionFor(ctx, shim, find); v != "3.11.1" || calls(t, dir) != 1 {
		t.Fatalf("again: %q after %d calls; want it kept", v, calls(t, dir))
	}
	// pyenv global 3.12.0
	os.WriteFile(filepath.Join(dir, "pyenv", "version"), []byte("3.12.0\n"), 0o644)
	if v := versionFor(ctx, shim, find); v != "3.12.0" || calls(t, dir) != 2 {
		t.Fatalf("another version chosen: %q after %d calls", v, calls(t, dir))
	}
	// The chosen version reinstalled as another.
	bin := filepath.Join(dir, "pyenv", "versions", "3.12.0", "bin", "python3")
	scripttest.Write(t, bin, "#!/bin/sh\necho call >> "+filepath.Join(dir, "calls")+"\necho Python 3.12.7\n")
	if v := versionFor(ctx, shim, find); v != "3.12.7" || calls(t, dir) != 3 {
		t.Fatalf("binary replaced: %q after %d calls", v, calls(t, dir))
	}
	// A version of the system's, or any other script: asked every time.
	os.WriteFile(filepath.Join(dir, "pyenv", "version"), []byte("system\n"), 0o644)
	if _, ok := versionKey(shim, find); ok {
		t.Error("the system version was given a key")
	}
	other := filepath.Join(dir, "wrapper")
	scripttest.Write(t, other, "#!/bin/sh\necho call >> "+filepath.Join(dir, "calls")+"\necho Python 3.10.2\n")
	before := calls(t, dir)
	for i := 0; i < 2; i++ {
		if v := versionFor(ctx, other, find); v != "3.10.2" {
			t.Fatalf("wrapper: %q", v)
		}
	}
	if calls(t, dir)-before != 2 {
		t.Errorf("a script that is not a pyenv shim was asked %d times in two lookups", calls(t, dir)-before)
	}
	// Without a book (--fresh, untrusted code), every lookup asks.
	before = calls(t, dir)
	versionFor(ctx, bin, finder{path: find.path})
	versionFor(ctx, bin, finder{path: find.path})
	if calls(t, dir)-before != 2 {
		t.Errorf("without a book: %d calls for two lookups", calls(t, dir)-before)
	}
}
