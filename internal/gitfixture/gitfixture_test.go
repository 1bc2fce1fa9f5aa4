package gitfixture

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCommitAndCloneOverHTTP(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "o", "r.git")
	if err := InitBare(repo, "main"); err != nil {
		t.Fatal(err)
	}
	first, err := Commit(repo, "main", "", map[string]string{"a.txt": "one\n", "run.sh": Executable + "#!/bin/sh\necho hi\n"}, "first")
	if err != nil {
		t.Fatal(err)
	}
	second, err := Commit(repo, "feature", "main", map[string]string{"a.txt": Delete, "b.txt": "two\n"}, "second")
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Fatal("commits share a SHA")
	}
	srv, err := Serve(root)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dst := filepath.Join(t.TempDir(), "clone")
	if _, err := Git(root, "clone", "--quiet", "--branch", "feature", srv.URL+"/o/r.git", dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "a.txt")); !os.IsNotExist(err) {
		t.Errorf("a.txt should be deleted on feature, stat err = %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dst, "b.txt"))
	if err != nil || string(b) != "two\n" {
		t.Errorf("b.txt = %q, %v", b, err)
	}
	fi, err := os.Stat(filepath.Join(dst, "run.sh"))
	if err != nil || fi.Mode()&0o100 == 0 {
		t.Errorf("run.sh not executable: %v %v", fi, err)
	}
	head, _ := Git(dst, "rev-parse", "HEAD")
	if head != second {
		t.Errorf("HEAD = %s, want %s", head, second)
	}
}

// ResolveRef reads what git rev-parse --verify would answer: loose and
// packed refs, a missing one, and names it leaves to git.
func TestResolveRefAgreesWithGit(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "r.git")
	if err := InitBare(repo, "main"); err != nil {
		t.Fatal(err)
	}
	main, err := Commit(repo, "main", "", map[string]string{"a": "1\n"}, "one")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Commit(repo, "packed", "refs/heads/main", map[string]string{"b": "2\n"}, "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := Git(repo, "pack-refs", "--all"); err != nil {
		t.Fatal(err)
	}
	if _, err := Commit(repo, "loose/x", "refs/heads/packed", map[string]string{"c": "3\n"}, "three"); err != nil {
		t.Fatal(err)
	}
	if err := Tag(repo, "v1", main); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"refs/heads/main", "refs/heads/packed", "refs/heads/loose/x", "refs/heads/loose",
		"refs/heads/none", "refs/tags/v1", "refs/heads/main^", "refs/heads/main~1", "HEAD"} {
		want, _ := Git(repo, "rev-parse", "--verify", "--quiet", ref)
		if got := ResolveRef(repo, ref); got != want {
			t.Errorf("%s: %q, git says %q", ref, got, want)
		}
	}
	if _, ok := ReadRef(repo, "refs/heads/packed"); !ok {
		t.Error("a packed branch was not read from disk")
	}
	if _, err := Commit(repo, "main", "", map[string]string{"d": "4\n"}, "four"); err != nil {
		t.Fatal(err)
	}
	if got, want := ResolveRef(repo, "refs/heads/main"), mustGit(t, repo, "rev-parse", "main"); got != want || got == main {
		t.Errorf("main after a commit: %s, want %s", got, want)
	}
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := Git(dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
