package demo

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/phony"
	"github.com/provide-io/workspace-bot/workspace"
)

func TestWorkspaceAndEvents(t *testing.T) {
	srv, err := githubtest.Start(githubtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := Create(srv); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := workspace.Parse("wrknv.toml", []byte(Config(srv)))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.FullName(cfg.Sibling("hello-cli")); got != CLIRepo {
		t.Errorf("hello-cli is %s on GitHub, want %s", got, CLIRepo)
	}
	rn, err := OpenRename(srv)
	if err != nil {
		t.Fatal(err)
	}
	if pr := srv.PR(CLIRepo, rn.CLI); !strings.Contains(pr.Body, "Depends-On: "+GreetingRepo+"#1") || pr.HeadRef != RenameBranch {
		t.Errorf("hello-cli PR %+v", pr)
	}

	b, err := PullRequestEvent(srv, "synchronize", CLIRepo, rn.CLI)
	if err != nil {
		t.Fatal(err)
	}
	d, err := phony.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"action": "synchronize", "repository.full_name": CLIRepo, "pull_request.base.repo.full_name": CLIRepo,
		"pull_request.head.sha": srv.PR(CLIRepo, rn.CLI).HeadSHA, "pull_request.head.ref": RenameBranch,
		"pull_request.user.login": "alice",
	} {
		if got, err := phony.GetString(d, path); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", path, got, err, want)
		}
	}
	// The rest of GitHub's payload is still there.
	if _, err := phony.Get(d, "pull_request.head.repo.owner.login"); err != nil {
		t.Errorf("the fixture's other fields were lost: %v", err)
	}
	if _, err := PullRequestEvent(srv, "opened", CLIRepo, 99); err == nil {
		t.Error("an event for a PR that does not exist")
	}

	c, err := srv.AddComment(GreetingRepo, rn.Greeting, "alice", "MEMBER", "/workspace test")
	if err != nil {
		t.Fatal(err)
	}
	for _, onPR := range []bool{true, false} {
		b, err := IssueCommentEvent(srv, GreetingRepo, rn.Greeting, c, onPR)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := phony.Decode(b)
		_, err = phony.Get(d, "issue.pull_request")
		if (err == nil) != onPR {
			t.Errorf("onPR %v: issue.pull_request present = %v", onPR, err == nil)
		}
		if body, _ := phony.GetString(d, "comment.body"); body != "/workspace test" {
			t.Errorf("comment body %q", body)
		}
		if id, _ := phony.Get(d, "comment.id"); fmt.Sprint(id) != strconv.FormatInt(c.ID, 10) {
			t.Errorf("comment id %v, want %d", id, c.ID)
		}
	}
}
