package bot

import "github.com/provide-io/workspace-bot/internal/gh"

// The GitHub shapes the bot writes and reads are the client's own, so
// *gh.Client is a GitHub and a Checks as it is.
type (
	// Status is a commit status.
	Status = gh.Status
	// Comment is an issue comment on a PR.
	Comment = gh.Comment
	// CheckRun is a check run as the bot writes it.
	CheckRun = gh.CheckRun
)

// The real client must keep fitting the interfaces.
var (
	_ GitHub = (*gh.Client)(nil)
	_ Checks = (*gh.Client)(nil)
)
