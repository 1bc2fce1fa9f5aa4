package githubtest

import (
	"testing"

	"github.com/google/go-github/v88/github"
)

func TestStatusesAndCombinedState(t *testing.T) {
	s := start(t)
	sha := seed(t, s)
	gh := client(t, s, "")
	ctx := t.Context()

	combined := must[*github.CombinedStatus](t)(gh.Repositories.GetCombinedStatus(ctx, "acme", "app", sha, nil))
	if combined.GetState() != "pending" || combined.GetTotalCount() != 0 {
		t.Errorf("no statuses: state %s total %d, want pending 0", combined.GetState(), combined.GetTotalCount())
	}

	post := func(state, context string) *github.RepoStatus {
		t.Helper()
		return must[*github.RepoStatus](t)(gh.Repositories.CreateStatus(ctx, "acme", "app", sha, github.RepoStatus{
			State: github.String(state), Context: github.String(context),
			Description: github.String(state + " desc"), TargetURL: github.String("http://ci.example/" + context),
		}))
	}
	first := post("pending", "workspace/integration")
	if first.GetState() != "pending" || first.GetCreator().GetLogin() != OpenLogin || first.GetID() == 0 {
		t.Errorf("created status = %+v", first)
	}
	post("success", "lint")
	combined = must[*github.CombinedStatus](t)(gh.Repositories.GetCombinedStatus(ctx, "acme", "app", sha, nil))
	if combined.GetState() != "pending" {
		t.Errorf("pending + success = %s, want pending", combined.GetState())
	}
	post("error", "workspace/integration")
	combined = must[*github.CombinedStatus](t)(gh.Repositories.GetCombinedStatus(ctx, "acme", "app", "main", nil))
	if combined.GetState() != "failure" || combined.GetTotalCount() != 2 || combined.GetSHA() != sha {
		t.Errorf("error + success by branch = %s total %d sha %s, want failure 2 %s", combined.GetState(), combined.GetTotalCount(), combined.GetSHA(), sha)
	}
	post("success", "workspace/integration")
	combined = must[*github.CombinedStatus](t)(gh.Repositories.GetCombinedStatus(ctx, "acme", "app", sha, nil))
	if combined.GetState() != "success" {
		t.Errorf("latest per context all success = %s", combined.GetState())
	}

	list := must[[]*github.RepoStatus](t)(gh.Repositories.ListStatuses(ctx, "acme", "app", sha, nil))
	if len(list) != 4 || list[0].GetState() != "success" || list[0].GetContext() != "workspace/integration" || list[3].GetState() != "pending" {
		t.Errorf("list newest first: %d items", len(list))
	}
	got := s.Statuses("acme/app", sha)
	if len(got) != 4 || got[0] != (Status{State: "pending", Context: "workspace/integration", Description: "pending desc",
		TargetURL: "http://ci.example/workspace/integration", Creator: OpenLogin}) {
		t.Errorf("Statuses = %+v", got)
	}

	if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "app", sha, github.RepoStatus{State: github.String("green")}); !isStatus(err, 422) {
		t.Errorf("bad state: %v, want 422", err)
	}
	if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "app", "0123456789abcdef0123456789abcdef01234567", github.RepoStatus{State: github.String("success")}); !isStatus(err, 422) {
		t.Errorf("unknown sha: %v, want 422", err)
	}
}
