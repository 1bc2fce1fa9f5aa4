package ci

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

// TestSymlinkOutOfTheBuildRootRefused reproduces the finding: the
// workspace repository's branch commits nested -> <a directory outside>,
// a sibling has path "nested/flavorpack", and the run cloned the sibling
// into the outside directory and left it there. Now the run is refused
// with an input error (exit 2) naming the symlink, and nothing is
// written outside.
func TestSymlinkOutOfTheBuildRootRefused(t *testing.T) {
	f := newFixture(t)
	f.repo("flavorpack", nil)
	outside := t.TempDir()
	f.repo("provide-workspace", map[string]string{"README": "ws\n"})
	f.commit("provide-workspace", "evil", "main", map[string]string{"nested": gitfixture.Symlink + outside})
	f.commit("provide-workspace", "fine", "main", map[string]string{"nested": gitfixture.Symlink + "inner", "inner/.keep": ""})
	cfg := f.config(sib{name: "flavorpack"})
	cfg.Workspace.Repo = f.url("provide-workspace")
	cfg.Sibling("flavorpack").Path = "nested/flavorpack"

	res, err := f.runner().Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{"ws": {Ref: "evil"}}})
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (result %+v), want an input error", err, res)
	}
	for _, want := range []string{"flavorpack", "symlink nested -> " + outside, "leaves the build root"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("the run wrote outside the build root: %v", entries)
	}

	// A symlink that stays inside the root is followed.
	r := f.runner()
	r.Keep = true
	res, err = r.Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{"ws": {Ref: "fine"}}})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(res.BuildRoot, "provide-workspace", "inner", "flavorpack", "README")); err != nil {
		t.Errorf("sibling not checked out through the inner symlink: %v", err)
	}
}

// TestSymlinkInASiblingRefused: a sibling nested in another is checked
// out after it, so a symlink the outer one commits is seen, not raced.
func TestSymlinkInASiblingRefused(t *testing.T) {
	f := newFixture(t)
	outside := t.TempDir()
	f.repo("outer", map[string]string{"plugins": gitfixture.Symlink + outside})
	f.repo("inner", nil)
	cfg := f.config(sib{name: "outer"}, sib{name: "inner"})
	cfg.Sibling("inner").Path = "../outer/plugins/inner"
	for i := 0; i < 5; i++ {
		_, err := f.runner().Run(context.Background(), Request{Config: cfg})
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "symlink ../outer/plugins -> "+outside) {
			t.Fatalf("run %d: error %v, want an input error naming ../outer/plugins", i, err)
		}
		if entries, _ := os.ReadDir(outside); len(entries) != 0 {
			t.Fatalf("run %d wrote outside the build root: %v", i, entries)
		}
	}
}
