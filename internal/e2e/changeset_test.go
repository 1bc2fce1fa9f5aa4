package e2e

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
)

type member struct {
	repo string
	n    int
}

// openFeature opens one PR per sibling on the same branch name, so link
// by branch makes them one changeset.
func (w *world) openFeature(branch string, files map[string]map[string]string) []member {
	var ms []member
	for _, s := range siblings {
		repo := owner + "/" + s
		f := files[s]
		if f == nil {
			f = map[string]string{"README": s + " " + branch + "\n"}
		}
		ms = append(ms, member{repo, w.openPR(repo, branch, "", f)})
	}
	return ms
}

func TestThreeSiblingsPassThenFail(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	ms := w.openFeature("feature-x", nil)

	start := time.Now()
	w.send("pull_request", w.prPayload("opened", ms[1].repo, ms[1].n))
	heads := map[string]string{}
	for _, m := range ms {
		heads[m.repo] = w.head(m.repo, m.n)
	}
	for deadline := patience(t); ; time.Sleep(time.Millisecond) {
		pending := 0
		for repo, sha := range heads {
			if w.status(repo, sha).State == "pending" {
				pending++
			}
		}
		if pending == len(heads) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gave up waiting for pending on every member")
		}
	}
	t.Logf("delivery to pending on all %d members: %s", len(ms), time.Since(start).Round(time.Millisecond))

	for _, m := range ms {
		sha := w.head(m.repo, m.n)
		st := w.waitState(m.repo, sha, "success")
		if !strings.HasPrefix(st.TargetURL, w.url+"/runs/") || len(st.Description) > 140 {
			t.Errorf("%s: final status %+v", m.repo, st)
		}
		all := w.gh.Statuses(m.repo, sha)
		if all[0].State != "pending" || !strings.HasPrefix(all[0].Description, "queued") {
			t.Errorf("%s: first status %+v, want pending queued", m.repo, all[0])
		}
		w.waitFor("the summary on "+m.repo, func() bool { return len(w.summaries(m.repo, m.n)) > 0 })
		sums := w.summaries(m.repo, m.n)
		if len(sums) != 1 || !strings.Contains(sums[0].Body, "passed") || !strings.Contains(sums[0].Body, "acme/core#1") || !strings.Contains(sums[0].Body, "acme/app#1") {
			t.Fatalf("%s: summaries %+v", m.repo, sums)
		}
	}

	// A push to lib that breaks the integration test fails the whole
	// changeset, on every member; each summary is edited, not added.
	w.push("acme/lib", "feature-x", map[string]string{"check.sh": "echo lib is broken: expected 42, got 41\nexit 1\n"})
	w.send("pull_request", w.prPayload("synchronize", "acme/lib", ms[1].n))
	for _, m := range ms {
		st := w.waitState(m.repo, w.head(m.repo, m.n), "failure")
		if !strings.Contains(st.Description, "sh check-all.sh") {
			t.Errorf("%s: failure description %q", m.repo, st.Description)
		}
		w.waitFor("edited summary on "+m.repo, func() bool {
			sums := w.summaries(m.repo, m.n)
			return len(sums) == 1 && strings.Contains(sums[0].Body, "expected 42, got 41") && sums[0].Edits >= 1
		})
	}
	runs := w.runs()
	if len(runs) != 2 || runs[0].Ended != lifecycle.Success || runs[1].Ended != lifecycle.Failure {
		t.Fatalf("runs %s", describeRuns(runs))
	}
}

func TestPushDuringRunCancelsIt(t *testing.T) {
	w := newWorld(t, worldOptions{})
	// A sleep far longer than the test waits, named for this test binary:
	// only a cancelled build ends it in time.
	slow := fmt.Sprintf("sleep 300.%07d", os.Getpid())
	ms := w.openFeature("slow", map[string]map[string]string{"core": {"check.sh": slow + "\n"}})
	w.send("pull_request", w.prPayload("opened", "acme/core", ms[0].n))
	oldSHA := w.head("acme/core", ms[0].n)
	w.waitFor("the slow run to start", func() bool {
		return strings.HasPrefix(w.status("acme/core", oldSHA).Description, "running")
	})
	w.push("acme/core", "slow", map[string]string{"check.sh": "echo fast now\n"})
	w.send("pull_request", w.prPayload("synchronize", "acme/core", ms[0].n))
	for _, m := range ms {
		w.waitState(m.repo, w.head(m.repo, m.n), "success")
	}
	w.waitFor("the superseded build to be stopped", func() bool { return len(processesOf(slow)) == 0 })
	// The stale head never gets a test result, only the note that it was
	// superseded, so its commit shows no check that never finishes.
	if st := w.status("acme/core", oldSHA); st.State != "error" || !strings.HasPrefix(st.Description, "superseded by a newer push") {
		t.Errorf("superseded head got %+v; want error, saying it was superseded", st)
	}
	runs := w.runs()
	if len(runs) != 2 || runs[0].Ended != lifecycle.Superseded || runs[0].Superseded != runs[1].ID || runs[1].Ended != lifecycle.Success {
		t.Fatalf("runs %s", describeRuns(runs))
	}
}

func TestBurstOfPushesIsOneRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{coalesce: time.Second})
	ms := w.openFeature("burst", nil)
	var bodies [][]byte
	for _, m := range ms {
		w.push(m.repo, "burst", map[string]string{"CHANGELOG": "burst\n"})
		bodies = append(bodies, w.prPayload("synchronize", m.repo, m.n))
	}
	for _, b := range bodies {
		w.send("pull_request", b)
	}
	for _, m := range ms {
		w.waitState(m.repo, w.head(m.repo, m.n), "success")
	}
	w.idle()
	if runs := w.runs(); len(runs) != 1 {
		t.Fatalf("a burst of %d pushes made runs %s, want one", len(ms), describeRuns(runs))
	}
}

func TestResolutionErrorOnTriggeringPR(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	n := w.openPR("acme/app", "lonely", "Needs the new API.\n\nDepends-On: acme/elsewhere#5\n", map[string]string{"README": "x\n"})
	w.send("pull_request", w.prPayload("opened", "acme/app", n))
	st := w.waitState("acme/app", w.head("acme/app", n), "failure")
	if !strings.Contains(st.Description, "acme/elsewhere#5") {
		t.Errorf("description %q", st.Description)
	}
	w.waitFor("the summary", func() bool { return len(w.summaries("acme/app", n)) == 1 })
	body := w.summaries("acme/app", n)[0].Body
	if !strings.Contains(body, "**Problem:**") || !strings.Contains(body, "acme/elsewhere#5") || !strings.Contains(body, "**Fix:**") {
		t.Fatalf("summary:\n%s", body)
	}
	if runs := w.runs(); len(runs) != 0 {
		t.Fatalf("runs %s", describeRuns(runs))
	}
}

func describeRuns(rs []store.Run) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("#%d %s %s (superseded by %d)", r.ID, r.Key, r.State, r.Superseded))
	}
	sort.Strings(parts)
	return "[" + strings.Join(parts, "; ") + "]"
}
