package demo

import (
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/jsondoc"
)

// Payloads GitHub itself sent (octokit/webhooks examples, MIT licence in
// payloads/LICENSE), rewritten to name the emulator's repositories, PRs
// and SHAs. The rest of each payload stays as GitHub wrote it, so the
// service reads the same shapes it reads in production.
var (
	//go:embed payloads/pull_request.opened.json
	pullRequestPayload []byte
	//go:embed payloads/issue_comment.created.json
	issueCommentPayload []byte
)

// PullRequestEvent is a pull_request delivery with action (opened,
// synchronize, ...) for repo#number as srv holds it now.
func PullRequestEvent(srv *githubtest.Server, action, repo string, number int) ([]byte, error) {
	d, err := jsondoc.Decode(pullRequestPayload)
	if err != nil {
		return nil, err
	}
	pr := srv.PR(repo, number)
	if pr.Number == 0 {
		return nil, fmt.Errorf("demo: %s#%d does not exist on the emulator", repo, number)
	}
	web := srv.URL() + "/" + repo
	set := []struct {
		path  string
		value any
	}{
		{"action", action},
		{"number", number},
		{"pull_request.number", number},
		{"pull_request.state", pr.State},
		{"pull_request.title", pr.Title},
		{"pull_request.body", pr.Body},
		{"pull_request.draft", pr.Draft},
		{"pull_request.merged", pr.Merged},
		{"pull_request.html_url", fmt.Sprintf("%s/pull/%d", web, number)},
		{"pull_request.user.login", pr.User},
		{"pull_request.author_association", pr.AuthorAssociation},
		{"pull_request.head.ref", pr.HeadRef},
		{"pull_request.head.sha", pr.HeadSHA},
		{"pull_request.head.label", pr.HeadRepo + ":" + pr.HeadRef},
		{"pull_request.head.repo.full_name", pr.HeadRepo},
		{"pull_request.head.repo.clone_url", srv.GitURL(pr.HeadRepo)},
		{"pull_request.head.repo.fork", pr.HeadRepo != repo},
		{"pull_request.base.ref", pr.BaseRef},
		{"pull_request.base.repo.full_name", repo},
		{"pull_request.base.repo.clone_url", srv.GitURL(repo)},
		{"pull_request.base.repo.fork", false},
	}
	set = append(set, repoFields(srv, repo)...)
	for _, s := range set {
		if err := jsondoc.Set(d, s.path, s.value); err != nil {
			return nil, err
		}
	}
	return jsondoc.Marshal(d)
}

// IssueCommentEvent is an issue_comment "created" delivery for comment c
// on repo#number. onPR false makes it a comment on a plain issue, which
// has no issue.pull_request key.
func IssueCommentEvent(srv *githubtest.Server, repo string, number int, c githubtest.Comment, onPR bool) ([]byte, error) {
	d, err := jsondoc.Decode(issueCommentPayload)
	if err != nil {
		return nil, err
	}
	web := srv.URL() + "/" + repo
	set := []struct {
		path  string
		value any
	}{
		{"action", "created"},
		{"issue.number", number},
		{"issue.state", "open"},
		{"issue.html_url", fmt.Sprintf("%s/issues/%d", web, number)},
		{"comment.id", c.ID},
		{"comment.body", c.Body},
		{"comment.user.login", c.User},
		{"comment.user.type", "User"},
		{"comment.author_association", c.AuthorAssociation},
		{"comment.created_at", c.CreatedAt.UTC().Format(time.RFC3339)},
		{"comment.updated_at", c.UpdatedAt.UTC().Format(time.RFC3339)},
		{"comment.html_url", fmt.Sprintf("%s/issues/%d#issuecomment-%d", web, number, c.ID)},
		{"sender.login", c.User},
	}
	if onPR {
		set = append(set, struct {
			path  string
			value any
		}{"issue.pull_request", map[string]any{
			"url":      fmt.Sprintf("%s/repos/%s/pulls/%d", srv.URL()+"/api/v3", repo, number),
			"html_url": fmt.Sprintf("%s/pull/%d", web, number),
		}})
	} else if _, err := jsondoc.Get(d, "issue.pull_request"); err == nil {
		if err := jsondoc.Delete(d, "issue.pull_request"); err != nil {
			return nil, err
		}
	}
	set = append(set, repoFields(srv, repo)...)
	for _, s := range set {
		if err := jsondoc.Set(d, s.path, s.value); err != nil {
			return nil, err
		}
	}
	return jsondoc.Marshal(d)
}

func repoFields(srv *githubtest.Server, repo string) []struct {
	path  string
	value any
} {
	owner, name, _ := strings.Cut(repo, "/")
	return []struct {
		path  string
		value any
	}{
		{"repository.full_name", repo},
		{"repository.name", name},
		{"repository.owner.login", owner},
		{"repository.html_url", srv.URL() + "/" + repo},
		{"repository.clone_url", srv.GitURL(repo)},
		{"repository.fork", false},
	}
}
