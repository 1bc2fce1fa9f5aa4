package release

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

func asInput(err error, ie **InputError) bool { return errors.As(err, ie) }

// repo makes a non-bare repository at dir/name with main checked out as
// HEAD and one commit per call of commit.
type repo struct {
	t   testing.TB
	dir string
}

func newRepo(t testing.TB, dir string) *repo {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := gitfixture.Git(dir, "init", "--quiet", "--initial-branch=main"); err != nil {
		t.Fatal(err)
	}
	return &repo{t: t, dir: dir}
}

func (r *repo) commit(files map[string]string, msg string) string {
	r.t.Helper()
	sha, err := gitfixture.Commit(r.dir, "main", "", files, msg)
	if err != nil {
		r.t.Fatal(err)
	}
	return sha
}

func (r *repo) tag(name string) {
	r.t.Helper()
	if err := gitfixture.Tag(r.dir, name, "HEAD"); err != nil {
		r.t.Fatal(err)
	}
}

// show is a file of a commit.
func show(t testing.TB, dir, rev, path string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "show", rev+":"+path).Output()
	if err != nil {
		t.Fatalf("git show %s:%s in %s: %v", rev, path, dir, err)
	}
	return string(out)
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t testing.TB, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }
