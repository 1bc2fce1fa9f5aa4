package githubtest

import (
	"reflect"
	"testing"

	"github.com/google/go-github/v88/github"
)

func TestCheckRuns(t *testing.T) {
	s := start(t)
	sha := seed(t, s)
	gh := client(t, s, "")
	ctx := t.Context()

	run := must[*github.CheckRun](t)(gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{
		Name: "workspace/integration", HeadSHA: sha, Status: github.String("in_progress"),
		ExternalID: github.String("run-1"), DetailsURL: github.String("http://ci.example/1"),
		Output: &github.CheckRunOutput{Title: github.String("Running"), Summary: github.String("3 siblings")},
	}))
	if run.GetStatus() != "in_progress" || run.Conclusion != nil || run.GetHeadSHA() != sha || run.GetExternalID() != "run-1" {
		t.Errorf("created = %+v", run)
	}
	done := must[*github.CheckRun](t)(gh.Checks.UpdateCheckRun(ctx, "acme", "app", run.GetID(), github.UpdateCheckRunOptions{
		Name: "workspace/integration", Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{Title: github.String("1 failed"), Summary: github.String("lib failed")},
	}))
	// A conclusion completes the run, as on GitHub.
	if done.GetStatus() != "completed" || done.GetConclusion() != "failure" || done.CompletedAt == nil || done.GetOutput().GetTitle() != "1 failed" {
		t.Errorf("updated = %+v", done)
	}
	if _, _, err := gh.Checks.UpdateCheckRun(ctx, "acme", "app", run.GetID(), github.UpdateCheckRunOptions{Name: "x", Conclusion: github.String("great")}); !isStatus(err, 422) {
		t.Errorf("bad conclusion: %v, want 422", err)
	}
	// A rerun under the same name: filter=latest (the default) shows only it.
	if _, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{Name: "workspace/integration", HeadSHA: sha}); err != nil {
		t.Fatal(err)
	}
	latest := must[*github.ListCheckRunsResults](t)(gh.Checks.ListCheckRunsForRef(ctx, "acme", "app", "main", nil))
	if latest.GetTotal() != 1 || latest.CheckRuns[0].GetStatus() != "queued" {
		t.Errorf("latest = %d runs", latest.GetTotal())
	}
	all := must[*github.ListCheckRunsResults](t)(gh.Checks.ListCheckRunsForRef(ctx, "acme", "app", sha, &github.ListCheckRunsOptions{Filter: github.String("all")}))
	if all.GetTotal() != 2 {
		t.Errorf("all = %d runs, want 2", all.GetTotal())
	}
	completed := must[*github.ListCheckRunsResults](t)(gh.Checks.ListCheckRunsForRef(ctx, "acme", "app", sha,
		&github.ListCheckRunsOptions{Filter: github.String("all"), Status: github.String("completed")}))
	if completed.GetTotal() != 1 || completed.CheckRuns[0].GetID() != run.GetID() {
		t.Errorf("completed = %d runs", completed.GetTotal())
	}
	got := s.CheckRuns("acme/app", sha)
	if len(got) != 2 || !reflect.DeepEqual(got[0], CheckRun{ID: run.GetID(), HeadSHA: sha, Name: "workspace/integration", Status: "completed",
		Conclusion: "failure", Title: "1 failed", Summary: "lib failed", DetailsURL: "http://ci.example/1", ExternalID: "run-1"}) {
		t.Errorf("CheckRuns = %+v", got)
	}
}

func TestCheckRunsNeedAnApp(t *testing.T) {
	s := start(t)
	sha := seed(t, s)
	s.AddToken("pat", Token{Login: "alice"})
	_, _, err := client(t, s, "pat").Checks.CreateCheckRun(t.Context(), "acme", "app", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha})
	if !isStatus(err, 403) {
		t.Errorf("check run with a personal token: %v, want 403", err)
	}
}
