package bot

import "github.com/provide-io/workspace-bot/changeset"

// Event is a webhook delivery the bot acts on, converted from GitHub's
// payload at the boundary (internal/gh decodes payloads into these).
type Event interface {
	// Name is the webhook event name the handlers are listed under.
	Name() string
}

// PullRequestEvent is a pull_request delivery.
type PullRequestEvent struct {
	Action string
	PR     *changeset.PR
	// BodyChanged says an edit changed the body, where links live.
	BodyChanged bool
	// Sender is who did it: who closed the PR, for a close.
	Sender string
}

// CommentEvent is an issue_comment delivery.
type CommentEvent struct {
	Action     string
	Repo       string
	Number     int
	OnPR       bool   // on a pull request, not a plain issue
	IssueState string // open or closed
	Comment    Comment
}

// RerunEvent is a check_run or check_suite delivery: someone pressed
// "Re-run" on a check, or "Re-run all checks".
type RerunEvent struct {
	Event   string // check_run or check_suite
	Action  string
	Repo    string
	HeadSHA string
	// PRs are the numbers of the PRs GitHub attached to the check; it
	// leaves them out for PRs from forks.
	PRs []int
}

// WorkflowEvent is a workflow_run or workflow_job delivery: a GitHub
// Actions run, perhaps one building a run of the bot, moved.
type WorkflowEvent struct {
	Event  string // workflow_run or workflow_job
	Action string
	Repo   string
	// RunID is the workflow run; Status and Conclusion where it is.
	RunID              int64
	Status, Conclusion string
}

// Name implements Event.
func (e *WorkflowEvent) Name() string { return e.Event }

// Name implements Event.
func (*PullRequestEvent) Name() string { return "pull_request" }

// Name implements Event.
func (*CommentEvent) Name() string { return "issue_comment" }

// Name implements Event.
func (e *RerunEvent) Name() string { return e.Event }

// Decoder turns a stored delivery's payload into an Event. A payload it
// cannot read is an error: retrying it cannot help, so it is dropped.
type Decoder func(event string, payload []byte) (Event, error)
