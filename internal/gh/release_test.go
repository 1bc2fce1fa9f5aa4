package gh

import (
	"errors"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

func TestReleasePullRequests(t *testing.T) {
	w := newWorld(t)
	w.repo(t, "acme/lib", githubtest.RepoOptions{})
	c := w.client(t, fullToken, "")
	ctx := t.Context()
	if _, err := w.srv.Commit("acme/lib", "workspace-bot/release", map[string]string{"VERSION": "0.5.0\n"}, "Release lib 0.5.0"); err != nil {
		t.Fatal(err)
	}

	pr, err := c.FindOpenPullRequest(ctx, "acme/lib", "acme:workspace-bot/release")
	if err != nil || pr != nil {
		t.Fatalf("before: %v, %v", pr, err)
	}
	pr, err = c.CreatePullRequest(ctx, "acme/lib", "acme:workspace-bot/release", "main", "Release lib 0.5.0", "body one")
	if err != nil {
		t.Fatal(err)
	}
	if pr.Ref() != "acme/lib#1" || pr.HeadRef != "workspace-bot/release" || pr.BaseRef != "main" || pr.Body != "body one" {
		t.Errorf("created %+v", pr)
	}
	if _, err := c.CreatePullRequest(ctx, "acme/lib", "acme:workspace-bot/release", "main", "again", ""); err == nil ||
		!strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "acme/lib") {
		t.Errorf("duplicate: %v", err)
	}

	if err := c.EditPullRequest(ctx, "acme/lib", 1, "Release lib 0.6.0", "body two"); err != nil {
		t.Fatal(err)
	}
	found, err := c.FindOpenPullRequest(ctx, "acme/lib", "acme:workspace-bot/release")
	if err != nil || found == nil || found.Number != 1 || found.Title != "Release lib 0.6.0" || found.Body != "body two" {
		t.Fatalf("found %+v, %v", found, err)
	}
	if other, err := c.FindOpenPullRequest(ctx, "acme/lib", "someone:workspace-bot/release"); err != nil || other != nil {
		t.Errorf("another owner's branch: %+v, %v", other, err)
	}
	if err := c.EditPullRequest(ctx, "acme/lib", 9, "t", "b"); !errors.Is(err, changeset.ErrNotFound) {
		t.Errorf("missing PR: %v", err)
	}
}
