// Package gh adapts go-github to workspace-bot: it converts GitHub's types
// to ours at the boundary, in API answers and webhook payloads alike, and
// turns GitHub's answers into errors that name the repository and the fix.
// Nothing outside this package, ghclient and the test emulator imports
// go-github.
package gh

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/gherror"
)

// Client is the GitHub API as workspace-bot uses it. Every call names its
// repository, and the call goes through the client for that repository:
// a token's one client, or a GitHub App's installation on it (siblings may
// sit in several organisations, each its own installation).
type Client struct {
	forRepo  func(ctx context.Context, repo string) (*github.Client, error)
	pageSize int // items per page of list calls; GitHub's maximum, 100
}

// New wraps one client built by ghclient, used for every repository.
func New(c *github.Client) *Client {
	return Routed(func(context.Context, string) (*github.Client, error) { return c, nil })
}

// Routed acts on each repository through the client forRepo returns for
// it (ghclient.Factory.ForRepo).
func Routed(forRepo func(ctx context.Context, repo string) (*github.Client, error)) *Client {
	return &Client{forRepo: forRepo, pageSize: 100}
}

// The client is what the bot and changeset resolution call on GitHub.
var (
	_ changeset.GitHub = (*Client)(nil)
	_ bot.GitHub       = (*Client)(nil)
	_ bot.Checks       = (*Client)(nil)
)

// on checks owner/name and returns the client acting on it.
func (c *Client) on(ctx context.Context, repo string) (api *github.Client, owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, "", "", fmt.Errorf("repository %q: use owner/name", repo)
	}
	api, err = c.forRepo(ctx, repo)
	if err != nil {
		return nil, "", "", err
	}
	return api, owner, name, nil
}

// wrap explains a GitHub error about what (such as "o/r#12") in repo, as
// one of gherror's kinds, from go-github's own error types: 404 is
// NotFound and 403 Forbidden, both naming the repository the token may
// lack access to; 422 is Rejected (asking again cannot help); a rate
// limit the client could not wait out is a Limit.
func wrap(err error, what, repo string) error {
	var rl *ghclient.RateLimitError
	if errors.As(err, &rl) {
		return fmt.Errorf("%s: %w", what, &gherror.Limit{Until: rl.Reset, Err: err})
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%s: not found, or the token cannot read %s: %w (%w)", what, repo, gherror.NotFound, err)
		case http.StatusForbidden:
			return fmt.Errorf("%s: the token may not do this in %s: %w (%w)", what, repo, gherror.Forbidden, err)
		case http.StatusUnprocessableEntity:
			return fmt.Errorf("%s: GitHub refused it in %s: %w (%w)", what, repo, gherror.Rejected, err)
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: GitHub rejected the credentials (bad or expired token); check --github-token or the App key: %w", what, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
