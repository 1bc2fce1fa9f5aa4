package githubtest

import (
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-github/v88/github"
)

func TestCreatePull(t *testing.T) {
	s := start(t)
	base := seed(t, s)
	gh := client(t, s, "")
	ctx := t.Context()
	head, err := s.Commit("acme/app", "release", map[string]string{"VERSION": "1.0.0\n"}, "release")
	if err != nil {
		t.Fatal(err)
	}
	in := &github.NewPullRequest{Title: github.String("Release 1.0.0"), Head: github.String("acme:release"),
		Base: github.String("main"), Body: github.String("notes")}
	pr, resp, err := gh.PullRequests.Create(ctx, "acme", "app", in)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || pr.GetNumber() != 1 || pr.GetTitle() != "Release 1.0.0" || pr.GetBody() != "notes" ||
		pr.GetHead().GetSHA() != head || pr.GetBase().GetSHA() != base || pr.GetUser().GetLogin() != OpenLogin || pr.GetState() != "open" {
		t.Errorf("created %d: #%d %q %q head %s base %s by %s %s", resp.StatusCode, pr.GetNumber(), pr.GetTitle(), pr.GetBody(),
			pr.GetHead().GetSHA(), pr.GetBase().GetSHA(), pr.GetUser().GetLogin(), pr.GetState())
	}
	if got := s.PR("acme/app", 1); got.HeadRef != "release" || got.Body != "notes" {
		t.Errorf("stored PR = %+v", got)
	}

	// The same head again is GitHub's 422, and no second PR.
	for _, h := range []string{"acme:release", "release"} {
		in.Head = github.String(h)
		_, resp, err = gh.PullRequests.Create(ctx, "acme", "app", in)
		var er *github.ErrorResponse
		if !errors.As(err, &er) || resp.StatusCode != http.StatusUnprocessableEntity || len(er.Errors) != 1 ||
			er.Errors[0].Code != "custom" || er.Errors[0].Message != "A pull request already exists for acme:release." {
			t.Fatalf("duplicate %s: err = %v", h, err)
		}
	}
	if s.PR("acme/app", 2).Number != 0 {
		t.Error("a duplicate PR was created")
	}

	for name, tc := range map[string]struct {
		head, base, field string
	}{
		"missing head": {"acme:nope", "main", "head"},
		"missing base": {"acme:release", "nope", "base"},
	} {
		_, resp, err := gh.PullRequests.Create(ctx, "acme", "app", &github.NewPullRequest{Title: github.String("t"), Head: &tc.head, Base: &tc.base})
		var er *github.ErrorResponse
		if !errors.As(err, &er) || resp.StatusCode != http.StatusUnprocessableEntity || len(er.Errors) != 1 || er.Errors[0].Field != tc.field {
			t.Errorf("%s: err = %v", name, err)
		}
	}

	// Once closed, the head may be proposed again.
	if err := s.ClosePR("acme/app", 1); err != nil {
		t.Fatal(err)
	}
	in.Head = github.String("release")
	if pr, _, err := gh.PullRequests.Create(ctx, "acme", "app", in); err != nil || pr.GetNumber() != 2 {
		t.Fatalf("after close: #%d, %v", pr.GetNumber(), err)
	}
}
