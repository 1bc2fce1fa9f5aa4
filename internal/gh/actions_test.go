package gh

import (
	"errors"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/gherror"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// The actions executor's calls through the real client stack against the
// emulator: a dispatch answers with its run, polling an unchanged run is
// a 304 that costs no rate limit, a run is found by its title, cancel
// cancels it (twice is no error), and each refusal is the kind the
// executor names a fix for.
func TestActionsCalls(t *testing.T) {
	w := newWorld(t)
	const repo = "acme/ws"
	w.repo(t, repo, githubtest.RepoOptions{})
	w.srv.AddWorkflow(repo, githubtest.Workflow{Path: "run.yml", RunName: "workspace-bot run ${{ inputs.run }}, attempt ${{ inputs.attempt }}"})
	w.srv.AddWorkflow(repo, githubtest.Workflow{Path: "off.yml", Disabled: true})
	c := w.client(t, fullToken, t.TempDir())
	ctx := t.Context()

	wr, err := c.DispatchWorkflow(ctx, repo, "run.yml", "main", map[string]string{"run": "7", "attempt": "1"})
	if err != nil || wr.ID == 0 || wr.URL == "" {
		t.Fatalf("dispatch = %+v, %v", wr, err)
	}
	got, err := c.WorkflowRun(ctx, repo, wr.ID)
	if err != nil || got.Status != "queued" || got.Title != "workspace-bot run 7, attempt 1" {
		t.Fatalf("run = %+v, %v", got, err)
	}
	w.srv.ResetStats()
	if _, err := c.WorkflowRun(ctx, repo, wr.ID); err != nil {
		t.Fatal(err)
	}
	if st := w.srv.Stats(); st.NotModified != 1 || st.RateLimitUsed != 0 {
		t.Errorf("polling an unchanged run: %+v, want one 304 at no cost", st)
	}
	found, ok, err := c.FindWorkflowRun(ctx, repo, "run.yml", "workspace-bot run 7, attempt 1", time.Now().Add(-time.Minute))
	if err != nil || !ok || found.ID != wr.ID {
		t.Fatalf("find = %+v %v %v", found, ok, err)
	}
	if _, ok, _ := c.FindWorkflowRun(ctx, repo, "run.yml", "workspace-bot run 7, attempt 2", time.Now().Add(-time.Minute)); ok {
		t.Error("another attempt's title found this run")
	}
	if err := c.CancelWorkflowRun(ctx, repo, wr.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelWorkflowRun(ctx, repo, wr.ID); err != nil {
		t.Errorf("cancelling a completed run: %v", err)
	}
	if got, _ := c.WorkflowRun(ctx, repo, wr.ID); got.Status != "completed" || got.Conclusion != "cancelled" {
		t.Errorf("after cancel: %+v", got)
	}
	for _, x := range []struct {
		workflow, ref string
		want          error
	}{
		{"missing.yml", "main", gherror.NotFound},
		{"off.yml", "main", gherror.Rejected},
		{"run.yml", "no-such-branch", gherror.Rejected},
	} {
		if _, err := c.DispatchWorkflow(ctx, repo, x.workflow, x.ref, nil); !errors.Is(err, x.want) {
			t.Errorf("dispatch %s at %s: %v, want %v", x.workflow, x.ref, err, x.want)
		}
	}
}
