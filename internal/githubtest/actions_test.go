package githubtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v88/github"
)

// The Actions endpoints through go-github: a dispatch makes a run the
// list (by event, by workflow, by creation), the run, its jobs and cancel
// answer for; the runner's moves (start, complete) are sent as signed
// workflow_run and workflow_job webhooks that go-github parses.
func TestActionsEndpointsAndWebhooks(t *testing.T) {
	s := start(t)
	seed(t, s)
	s.AddWorkflow("acme/app", Workflow{Path: "run.yml", Name: "run", RunName: "run ${{ inputs.n }}"})
	var mu sync.Mutex
	var events []string
	var payloads [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("hush"))
		mac.Write(body)
		if r.Header.Get("X-Hub-Signature-256") != "sha256="+hex.EncodeToString(mac.Sum(nil)) || r.Header.Get("X-GitHub-Delivery") == "" {
			t.Errorf("a delivery without a good signature or an id: %v", r.Header)
		}
		mu.Lock()
		events = append(events, r.Header.Get("X-GitHub-Event"))
		payloads = append(payloads, body)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	s.SendWebhooks(hook.URL, "hush", "workflow_run", "workflow_job")
	var dispatched []WorkflowRun
	s.OnDispatch(func(r WorkflowRun) { dispatched = append(dispatched, r) })

	c := client(t, s, "")
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	details, _, err := c.Actions.CreateWorkflowDispatchEventByFileName(ctx, "acme", "app", "run.yml",
		github.CreateWorkflowDispatchEventRequest{Ref: "main", Inputs: map[string]any{"n": "7"}, ReturnRunDetails: github.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	id := details.GetWorkflowRunID()
	if len(dispatched) != 1 || dispatched[0].ID != id || dispatched[0].Inputs["n"] != "7" || dispatched[0].Title != "run 7" {
		t.Fatalf("dispatched %+v, details %+v", dispatched, details)
	}
	// Without return_run_details GitHub answers 204 and no body.
	if _, resp, err := c.Actions.CreateWorkflowDispatchEventByFileName(ctx, "acme", "app", "run.yml", github.CreateWorkflowDispatchEventRequest{Ref: "main"}); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("dispatch without details: %v %v", resp, err)
	}
	for _, o := range []*github.ListWorkflowRunsOptions{
		{Event: "workflow_dispatch"},
		{Created: ">=" + before.UTC().Format(time.RFC3339)},
	} {
		runs, _, err := c.Actions.ListWorkflowRunsByFileName(ctx, "acme", "app", "run.yml", o)
		if err != nil || runs.GetTotalCount() != 2 || runs.WorkflowRuns[1].GetID() != id {
			t.Fatalf("list %+v: %+v %v", o, runs, err)
		}
	}
	if runs, _, err := c.Actions.ListRepositoryWorkflowRuns(ctx, "acme", "app", &github.ListWorkflowRunsOptions{Event: "push"}); err != nil || runs.GetTotalCount() != 0 {
		t.Fatalf("list by another event: %+v %v", runs, err)
	}
	if runs, _, err := c.Actions.ListRepositoryWorkflowRuns(ctx, "acme", "app", &github.ListWorkflowRunsOptions{Created: ">=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}); err != nil || runs.GetTotalCount() != 0 {
		t.Fatalf("list created later: %+v %v", runs, err)
	}
	s.StartWorkflowRun(id)
	jobs, _, err := c.Actions.ListWorkflowJobs(ctx, "acme", "app", id, nil)
	if err != nil || jobs.GetTotalCount() != 1 || jobs.Jobs[0].GetRunID() != id || jobs.Jobs[0].GetStatus() != "in_progress" {
		t.Fatalf("jobs %+v %v", jobs, err)
	}
	s.CompleteWorkflowRun(id, "success")
	run, _, err := c.Actions.GetWorkflowRunByID(ctx, "acme", "app", id)
	if err != nil || run.GetStatus() != "completed" || run.GetConclusion() != "success" || run.GetDisplayTitle() != "run 7" || run.GetEvent() != "workflow_dispatch" {
		t.Fatalf("run %+v %v", run, err)
	}
	if resp, err := c.Actions.CancelWorkflowRunByID(ctx, "acme", "app", id); err == nil || resp == nil || resp.StatusCode != http.StatusConflict {
		t.Errorf("cancelling a completed run: %v %v, want 409", resp, err)
	}

	mu.Lock()
	defer mu.Unlock()
	// requested, in_progress, completed for the first run, requested for
	// the second: each as workflow_run then workflow_job.
	if len(events) != 8 {
		t.Fatalf("events %v", events)
	}
	var last *github.WorkflowRunEvent
	for i, e := range events {
		ev, err := github.ParseWebHook(e, payloads[i])
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if r, ok := ev.(*github.WorkflowRunEvent); ok && r.GetWorkflowRun().GetID() == id {
			last = r
		}
	}
	if last.GetAction() != "completed" || last.GetWorkflowRun().GetConclusion() != "success" || last.GetRepo().GetFullName() != "acme/app" {
		t.Errorf("last workflow_run %+v", last)
	}
	var doc map[string]any
	json.Unmarshal(payloads[len(payloads)-1], &doc)
	if doc["workflow_job"] == nil {
		t.Errorf("a workflow_job payload without its job: %s", payloads[len(payloads)-1])
	}
}
