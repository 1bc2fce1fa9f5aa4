package bot

import "time"

// Status is a commit status as the bot posts it.
type Status struct {
	State       string // pending, success, failure, error
	Context     string
	Description string // at most 140 characters, GitHub's limit
	TargetURL   string
}

// Comment is an issue comment on a PR.
type Comment struct {
	ID                int64
	Body              string
	User              string
	AuthorAssociation string
	// CreatedAt is when GitHub says the comment was made: an approval
	// covers only heads the bot had seen by then.
	CreatedAt time.Time
}

// CheckRun is a check run as the bot writes it (GitHub App auth only).
type CheckRun struct {
	Name       string
	Status     string // queued, in_progress, completed
	Conclusion string // success, failure, neutral, cancelled, timed_out, action_required; sets Status to completed
	Title      string
	Summary    string
	Text       string
	DetailsURL string
	ExternalID string
	// Annotations go on lines of the repository's files; the client
	// sends them AnnotationBatch at a time.
	Annotations []Annotation
}

// FoundCheckRun is a check run found on a head.
type FoundCheckRun struct {
	ID         int64
	Status     string // queued, in_progress, completed
	ExternalID string
}
