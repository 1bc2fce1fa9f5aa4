package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// Context is the status context the demo workspace reports under.
const Context = "workspace/integration"

// LastStatus is the last status of Context on the PR's head, and how many
// statuses of Context the head has.
func LastStatus(srv *githubtest.Server, repo string, number int) (githubtest.Status, int) {
	pr := srv.PR(repo, number)
	var last githubtest.Status
	n := 0
	for _, st := range srv.Statuses(repo, pr.HeadSHA) {
		if st.Context == Context {
			last, n = st, n+1
		}
	}
	return last, n
}

// Final says whether a status state is a final result.
func Final(state string) bool { return state != "" && state != "pending" }

// SummaryComment is the bot's summary comment on the PR.
func SummaryComment(srv *githubtest.Server, repo string, number int) (githubtest.Comment, bool) {
	for _, c := range srv.Comments(repo, number) {
		if strings.HasPrefix(c.Body, bot.SummaryMarker) {
			return c, true
		}
	}
	return githubtest.Comment{}, false
}

// BotReplies are the bot's comments on the PR other than its summary.
func BotReplies(srv *githubtest.Server, repo string, number int) []string {
	var out []string
	for _, c := range srv.Comments(repo, number) {
		if c.User == BotLogin && !strings.HasPrefix(c.Body, bot.SummaryMarker) {
			out = append(out, c.Body)
		}
	}
	return out
}

// WaitFinal waits until the PR's head has more than after statuses of
// Context, the last is final, and the summary comment links the same run
// (the bot posts statuses first, then comments), or timeout passes.
func WaitFinal(ctx context.Context, srv *githubtest.Server, repo string, number, after int, timeout time.Duration) (githubtest.Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, n := LastStatus(srv, repo, number)
		if n > after && Final(st.State) {
			if c, ok := SummaryComment(srv, repo, number); ok && strings.Contains(c.Body, st.TargetURL+"\n") {
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("demo: %s#%d has no final %s status after %s (last: %q %q)", repo, number, Context, timeout, st.State, st.Description)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Icon is how a person glances at a state.
func Icon(state string) string {
	switch state {
	case "success":
		return "✔"
	case "failure", "error":
		return "✘"
	}
	return "…"
}

// PrintComment prints a comment body indented under a bar, dropping the
// marker line nobody reads.
func PrintComment(w io.Writer, indent, body string) {
	body = strings.TrimPrefix(body, bot.SummaryMarker+"\n")
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		fmt.Fprintf(w, "%s│ %s\n", indent, line)
	}
}
