package bot

import "github.com/provide-io/workspace-bot/internal/gh"

// Status is a commit status.
type Status struct {
	State       string // pending, success, failure, error
	Context     string
	Description string
	TargetURL   string
}

// Comment is an issue comment on a PR.
type Comment struct {
	ID                int64
	Body              string
	User              string
	AuthorAssociation string
}

// CheckRun is a check run as the bot writes it.
type CheckRun = gh.CheckRun
