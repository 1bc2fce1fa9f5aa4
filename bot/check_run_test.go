package bot

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/provide-io/workspace-bot/internal/phony"
	"github.com/provide-io/workspace-bot/internal/webhooktest"
)

// fakeChecks records check runs by head.
type fakeChecks struct {
	mu     sync.Mutex
	runs   map[int64]*CheckRun
	bySHA  map[string]int64 // the newest check run of each head
	nextID int64
	Error  error
}

func (f *fakeChecks) CreateCheckRun(_ context.Context, repo, sha string, cr CheckRun) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Error != nil {
		return 0, f.Error
	}
	f.nextID++
	c := cr
	f.runs[f.nextID] = &c
	f.bySHA[repo+"@"+sha] = f.nextID
	return f.nextID, nil
}

func (f *fakeChecks) UpdateCheckRun(_ context.Context, _ string, id int64, cr CheckRun) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.runs[id]
	// Empty fields are left as they are, as GitHub does.
	c.Status, c.Conclusion, c.Title = cr.Status, cr.Conclusion, cr.Title
	if cr.DetailsURL != "" {
		c.DetailsURL = cr.DetailsURL
	}
	return f.Error
}

// get returns the newest check run of a head and how many were created.
func (f *fakeChecks) get(repo, sha string) (CheckRun, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.bySHA[repo+"@"+sha]
	if !ok {
		return CheckRun{}, 0
	}
	return *f.runs[id], len(f.runs)
}

func TestAppModeReRunWithCheckRuns(t *testing.T) {
	checks := &fakeChecks{runs: map[int64]*CheckRun{}, bySHA: map[string]int64{}}
	h := newHarness(t, func(o *Options) { o.Checks = checks })
	h.threeSiblings()
	for _, f := range []struct{ event, file, shaPath string }{
		{"check_run", "check_run/rerequested.payload.json", "check_run.head_sha"},
		{"check_suite", "check_suite/rerequested.payload.json", "check_suite.head_sha"},
	} {
		d, err := phony.Load(webhooktest.Path(f.file))
		if err != nil {
			t.Fatal(err)
		}
		// The real payload, its odd timestamps included, pointed at the
		// head of an open PR.
		if err := phony.Set(d, "repository.full_name", "acme/lib"); err != nil {
			t.Fatal(err)
		}
		if err := phony.Set(d, f.shaPath, "l1"); err != nil {
			t.Fatal(err)
		}
		before := h.bld.callCount()
		h.dispatch(f.event, phony.MustMarshal(d))
		h.eventually(f.event+" re-run", func() bool {
			for _, head := range [][2]string{{"acme/app", "a1"}, {"acme/core", "c1"}, {"acme/lib", "l1"}} {
				if cr, _ := checks.get(head[0], head[1]); cr.Conclusion != "success" || cr.DetailsURL != fmt.Sprintf("https://bot.example/runs/%d", before+1) {
					return false
				}
			}
			return h.bld.callCount() == before+1
		})
	}
	cr, n := checks.get("acme/core", "c1")
	if n != 3*2 || cr.Name != "workspace/integration" || cr.Status != "completed" || cr.DetailsURL == "" {
		t.Fatalf("check run %+v, %d check runs, %d builds, %v", cr, n, h.bld.callCount(), checks.bySHA)
	}
	if len(h.gh.statuses) != 0 {
		t.Fatalf("an App posted commit statuses: %v", h.gh.statuses)
	}
}
