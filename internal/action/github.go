package action

import (
	"context"
	"regexp"
	"strings"
	"sync"

	"github.com/provide-io/workspace-bot/bot"
)

// RunPages is the public URL the bot is given in the Action. The bot links
// <RunPages>/runs/<id>, a page only the service serves; GitHub rewrites
// those links to the workflow run's page, which is where an Action's logs
// are.
const RunPages = "http://workspace-bot-action.invalid"

var runPageRe = regexp.MustCompile(regexp.QuoteMeta(RunPages) + `/runs/[0-9]+`)

// GitHub wraps what the bot calls on GitHub in the Action: run links point
// at the workflow run, and what the bot reports is remembered for the
// step summary and the exit code.
type GitHub struct {
	bot.GitHub
	RunURL string

	mu       sync.Mutex
	summary  string
	statuses []bot.Status
	replies  []string
}

func (g *GitHub) link(s string) string {
	return runPageRe.ReplaceAllLiteralString(s, g.RunURL)
}

// SetStatus posts st with its target linking the workflow run.
func (g *GitHub) SetStatus(ctx context.Context, repo, sha string, st bot.Status) error {
	if st.TargetURL != "" {
		st.TargetURL = g.link(st.TargetURL)
	}
	g.mu.Lock()
	g.statuses = append(g.statuses, st)
	g.mu.Unlock()
	return g.GitHub.SetStatus(ctx, repo, sha, st)
}

// CreateComment comments with run links pointing at the workflow run.
func (g *GitHub) CreateComment(ctx context.Context, repo string, number int, body string) (int64, error) {
	body = g.link(body)
	g.remember(body)
	return g.GitHub.CreateComment(ctx, repo, number, body)
}

// EditComment edits with run links pointing at the workflow run.
func (g *GitHub) EditComment(ctx context.Context, repo string, id int64, body string) error {
	body = g.link(body)
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
