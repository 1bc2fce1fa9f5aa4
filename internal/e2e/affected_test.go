package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestOnlyAffectedSiblingsAreTested: through the service, a PR to the
// leaf (app) runs app's own tests and the workspace tests, and the
// summary and the run page say which siblings' tests did not run; a
// maintainer's /workspace test --all runs them all.
func TestOnlyAffectedSiblingsAreTested(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{siblingTests: true})
	app := w.openPR("acme/app", "leaf-fix", "", map[string]string{"README": "app, changed\n"})
	w.send("pull_request", w.prPayload("opened", "acme/app", app))
	st := w.waitState("acme/app", w.head("acme/app", app), "success")
	log := w.logOf(st)
	if !strings.Contains(log, "own tests of app") || strings.Contains(log, "own tests of core") || strings.Contains(log, "own tests of lib") ||
		!strings.Contains(log, "app ok") {
		t.Errorf("a change to the leaf did not run exactly its own and the workspace tests:\n%s", log)
	}
	const notRun = "**Not run:** the tests of core, lib, not affected: depends on no member. `/workspace test --all` runs them."
	if body := w.summaryOf("acme/app", app); !strings.Contains(body, notRun) {
		t.Errorf("the summary does not say which tests did not run:\n%s", body)
	}
	resp, err := http.Get(st.TargetURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Not run: the tests of core, lib") || !strings.Contains(string(page), "not affected") {
		t.Errorf("the run page does not say which tests did not run:\n%s", page)
	}

	p, _ := w.comment("acme/app", app, "alice", "MEMBER", "/workspace test --all")
	w.send("issue_comment", p)
	w.waitFor("a summary of every test", func() bool {
		for _, c := range w.summaries("acme/app", app) {
			if strings.Contains(c.Body, "passed") && !strings.Contains(c.Body, "Not run") {
				return true
			}
		}
		return false
	})
	first := st.TargetURL
	w.waitFor("the second run's status", func() bool {
		st = w.status("acme/app", w.head("acme/app", app))
		return st.State == "success" && st.TargetURL != first
	})
	if log := w.logOf(st); !strings.Contains(log, "own tests of core") || !strings.Contains(log, "own tests of lib") {
		t.Errorf("test --all did not run every sibling's tests:\n%s", log)
	}
}
