package gh

import (
	"fmt"
	"testing"

	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// TestResolutionCost measures the API requests and rate-limit units spent
// resolving a 5-PR changeset in a workspace of 14 siblings: cold, again
// with nothing changed (a new process over the same disk cache), and after
// a push to one member. Run with -v to see the numbers.
func TestResolutionCost(t *testing.T) {
	w := newWorld(t)
	cfg := workspaceOf(t, w, 14, true)
	// s1, s2, s4 share a branch; s5 depends on s4; s6 depends on s5.
	p1 := w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "big-change"})
	p2 := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "big-change"})
	w.pr(t, githubtest.NewPR{Repo: "o/s4", Head: "big-change"})
	p5 := w.pr(t, githubtest.NewPR{Repo: "o/s5", Head: "api", Body: "Depends-On: s4#1"})
	w.pr(t, githubtest.NewPR{Repo: "o/s6", Head: "client", Body: fmt.Sprintf("Depends-On: o/s5#%d", p5)})
	for i := 7; i <= 14; i++ { // unrelated open PRs elsewhere
		w.pr(t, githubtest.NewPR{Repo: fmt.Sprintf("o/s%d", i), Head: "unrelated"})
	}
	cacheDir := t.TempDir()
	start := fmt.Sprintf("o/s1#%d", p1)

	measure := func(label string) (githubtest.Stats, string) {
		t.Helper()
		w.srv.ResetStats()
		cs := mustResolve(t, w.client(t, fullToken, cacheDir), cfg, start)
		if len(cs.Members) != 5 {
			t.Fatalf("%s: %d members, want 5: %q", label, len(cs.Members), memberLinks(cs))
		}
		st := w.srv.Stats()
		t.Logf("%-22s requests=%2d  304s=%2d  rate-limit units=%2d", label, st.Requests, st.NotModified, st.RateLimitUsed)
		return st, cs.RunID
	}
	cold, run1 := measure("cold")
	warm, run2 := measure("unchanged")
	if _, err := w.srv.Commit("o/s2", "big-change", map[string]string{"more.txt": "more\n"}, "another commit"); err != nil {
		t.Fatal(err)
	}
	pushed, run3 := measure("after a push to s2")

	if cold.RateLimitUsed == 0 || cold.Requests > 16 {
		t.Errorf("cold: %+v; want one list per repository (15) and at most one read", cold)
	}
	if warm.RateLimitUsed != 0 || warm.NotModified != warm.Requests || warm.Requests != cold.Requests {
		t.Errorf("unchanged: %+v; want every request answered 304 at no cost", warm)
	}
	if run2 != run1 || run3 == run1 {
		t.Errorf("run ids: cold %s, unchanged %s, pushed %s", run1, run2, run3)
	}
	if pushed.RateLimitUsed != 1 || pushed.NotModified != pushed.Requests-1 {
		t.Errorf("after a push to %s#%d: %+v; want only its sibling's list to cost a unit", "o/s2", p2, pushed)
	}
}
