package ci

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/internal/scripttest"
)

// TestMirrorHooksNeverRun reproduces the planted-hook finding: a hook
// written into a mirror (reference-transaction ran four times per fetch,
// with the service's environment) must never run, on fetch, clone,
// checkout or merge, in this run or later ones.
func TestMirrorHooksNeverRun(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	base, _ := gitfixture.Git(f.bare("alpha"), "rev-parse", "main")
	head := f.commit("alpha", "topic", base, map[string]string{"topic.txt": "t"})
	cfg := f.config(sib{name: "alpha"})
	cfg.Workspace.CI.Checkout = "merge"
	if res, err := f.runner().Run(context.Background(), Request{Config: cfg}); err != nil || res.Result != Success {
		t.Fatalf("warming the mirror: %v %+v", err, res)
	}
	marker := filepath.Join(t.TempDir(), "hook-ran")
	mirror := f.runner().mirrorFor(f.url("alpha")).dir
	for _, h := range []string{"reference-transaction", "post-checkout", "post-merge", "pre-auto-gc", "post-update", "pre-merge-commit"} {
		script := "#!/bin/sh\necho " + h + " >> " + strconv.Quote(marker) + "\n"
		if err := os.MkdirAll(filepath.Join(mirror, "hooks"), 0o755); err != nil {
			t.Fatal(err)
		}
		scripttest.Write(t, filepath.Join(mirror, "hooks", h), script)
	}
	f.commit("alpha", "main", "", map[string]string{"new.txt": "n"})
	res, err := f.runner().Run(context.Background(), Request{Config: cfg, Pins: map[string]Pin{"alpha": {Ref: "topic", SHA: head, Base: "main"}}})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	if ran, err := os.ReadFile(marker); err == nil {
		t.Errorf("the runner's git calls ran hooks planted in the mirror:\n%s", ran)
	}
}
