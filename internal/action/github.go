package action

import (
	"context"
	"strings"
	"sync"

	"github.com/provide-io/workspace-bot/bot"
)

// GitHub wraps what the bot calls on GitHub in the Action: what the bot
// reports is remembered for the step summary and the exit code.
type GitHub struct {
	bot.GitHub

	mu       sync.Mutex
	summary  string
	statuses []bot.Status
	replies  []string
}

// SetStatus posts st and remembers it.
func (g *GitHub) SetStatus(ctx context.Context, repo, sha string, st bot.Status) error {
	g.mu.Lock()
	g.statuses = append(g.statuses, st)
	g.mu.Unlock()
	return g.GitHub.SetStatus(ctx, repo, sha, st)
}

// CreateComment comments and remembers the body.
func (g *GitHub) CreateComment(ctx context.Context, repo string, number int, body string) (int64, error) {
	g.remember(body)
	return g.GitHub.CreateComment(ctx, repo, number, body)
}

// EditComment edits and remembers the body.
func (g *GitHub) EditComment(ctx context.Context, repo string, id int64, body string) error {
	g.remember(body)
	return g.GitHub.EditComment(ctx, repo, id, body)
}

func (g *GitHub) remember(body string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if strings.HasPrefix(strings.TrimSpace(body), bot.SummaryMarker) {
		g.summary = body
	} else {
		g.replies = append(g.replies, body)
	}
}

// Summary is the last summary comment the bot wrote, "" when none.
func (g *GitHub) Summary() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.summary
}

// Statuses are the statuses posted, in order.
func (g *GitHub) Statuses() []bot.Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]bot.Status(nil), g.statuses...)
}

// Replies are the comments other than the summary (refusals, help,
// status answers), in order.
func (g *GitHub) Replies() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.replies...)
}
