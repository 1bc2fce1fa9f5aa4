package bot

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
type CheckRun struct {
	Name       string
	HeadSHA    string
	Status     string // queued, in_progress, completed
	Conclusion string // success, failure, neutral, cancelled, action_required (completed only)
	DetailsURL string
	Title      string
	Summary    string
}
