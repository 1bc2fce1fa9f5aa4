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
