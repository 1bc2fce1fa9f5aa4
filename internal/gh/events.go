package gh

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/bot"
)

// Webhook payloads are read one way for every event: an envelope of our
// own holding only the fields the bot reads, so a field nobody reads (the
// check_run payload's app timestamps are not RFC 3339) cannot fail a
// delivery. A pull request inside a payload has the API's shape and goes
// through ConvertPR, as API answers do.

type repoJSON struct {
	FullName string `json:"full_name"`
}

type userJSON struct {
	Login string `json:"login"`
}

type pullRequestPayload struct {
	Action      string              `json:"action"`
	PullRequest *github.PullRequest `json:"pull_request"`
	Changes     struct {
		Body *struct{} `json:"body"`
	} `json:"changes"`
	Repository repoJSON `json:"repository"`
	Sender     struct {
		Login string `json:"login"`
	} `json:"sender"`
}

type issueCommentPayload struct {
	Action string `json:"action"`
	Issue  struct {
		Number int    `json:"number"`
		State  string `json:"state"`
		// Present only on a pull request's conversation.
		PullRequest *struct{} `json:"pull_request"`
	} `json:"issue"`
	Comment struct {
		ID                int64    `json:"id"`
		Body              string   `json:"body"`
		User              userJSON `json:"user"`
		AuthorAssociation string   `json:"author_association"`
		CreatedAt         string   `json:"created_at"`
	} `json:"comment"`
	Repository repoJSON `json:"repository"`
}

// checkJSON is a check run or check suite: the head it checks, and the
// PRs GitHub attached to it (none for PRs from forks).
type checkJSON struct {
	HeadSHA      string `json:"head_sha"`
	PullRequests []struct {
		Number int `json:"number"`
	} `json:"pull_requests"`
	// CheckSuite is a check run's suite.
	CheckSuite *checkJSON `json:"check_suite"`
}

type checkPayload struct {
	Action     string     `json:"action"`
	CheckRun   *checkJSON `json:"check_run"`
	CheckSuite *checkJSON `json:"check_suite"`
	Repository repoJSON   `json:"repository"`
}

// DecodeEvent reads a webhook payload of an event the bot handles into
// the bot's event; it returns nil for any other event.
func DecodeEvent(event string, payload []byte) (bot.Event, error) {
	switch event {
	case "pull_request":
		var p pullRequestPayload
		if err := decode(event, payload, &p); err != nil {
			return nil, err
		}
		ev := &bot.PullRequestEvent{Action: p.Action, BodyChanged: p.Changes.Body != nil, Sender: p.Sender.Login}
		if p.PullRequest != nil {
			ev.PR = ConvertPR(p.PullRequest, p.Repository.FullName)
		}
		return ev, nil
	case "issue_comment":
		var p issueCommentPayload
		if err := decode(event, payload, &p); err != nil {
			return nil, err
		}
		return &bot.CommentEvent{
			Action: p.Action, Repo: p.Repository.FullName, Number: p.Issue.Number,
			OnPR: p.Issue.PullRequest != nil, IssueState: p.Issue.State,
			Comment: bot.Comment{ID: p.Comment.ID, Body: p.Comment.Body, User: p.Comment.User.Login,
				AuthorAssociation: p.Comment.AuthorAssociation, CreatedAt: timestamp(p.Comment.CreatedAt)},
		}, nil
	case "check_run", "check_suite":
		var p checkPayload
		if err := decode(event, payload, &p); err != nil {
			return nil, err
		}
		ev := &bot.RerunEvent{Event: event, Action: p.Action, Repo: p.Repository.FullName}
		c := p.CheckSuite
		if event == "check_run" {
			c = p.CheckRun
		}
		if c == nil {
			return ev, nil
		}
		ev.HeadSHA = c.HeadSHA
		prs := c.PullRequests
		if len(prs) == 0 && c.CheckSuite != nil {
			prs = c.CheckSuite.PullRequests
		}
		for _, pr := range prs {
			ev.PRs = append(ev.PRs, pr.Number)
		}
		return ev, nil
	case "workflow_run", "workflow_job":
		var p workflowPayload
		if err := decode(event, payload, &p); err != nil {
			return nil, err
		}
		ev := &bot.WorkflowEvent{Event: event, Action: p.Action, Repo: p.Repository.FullName}
		switch {
		case p.WorkflowRun != nil:
			ev.RunID, ev.Status, ev.Conclusion = p.WorkflowRun.ID, p.WorkflowRun.Status, p.WorkflowRun.Conclusion
		case p.WorkflowJob != nil:
			ev.RunID, ev.Status, ev.Conclusion = p.WorkflowJob.RunID, p.WorkflowJob.Status, p.WorkflowJob.Conclusion
		}
		return ev, nil
	}
	return nil, nil
}

// workflowPayload is a workflow_run or workflow_job delivery: only what
// says which run moved, and where it is.
type workflowPayload struct {
	Action      string `json:"action"`
	WorkflowRun *struct {
		ID         int64  `json:"id"`
		Status     string `json:"status"`
		Conclusion string `json:"conclusion"`
	} `json:"workflow_run"`
	WorkflowJob *struct {
		RunID      int64  `json:"run_id"`
		Status     string `json:"status"`
		Conclusion string `json:"conclusion"`
	} `json:"workflow_job"`
	Repository repoJSON `json:"repository"`
}

// timestamp reads one of GitHub's times; one it cannot read is the zero
// time, which approves nothing (an approval needs to know when its
// comment was made).
func timestamp(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func decode(event string, payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("%s payload: %w", event, err)
	}
	return nil
}
