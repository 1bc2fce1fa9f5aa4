// Package gh adapts go-github to workspace-bot: it converts GitHub's types
// to ours at the boundary and turns GitHub's answers into errors that name
// the repository and the fix. Nothing outside this package and ghclient
// imports go-github.
package gh

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/provide-io/workspace-bot/changeset"
)

// Client is the GitHub API as the bot uses it.
type Client struct {
	gh       *github.Client
	pageSize int // items per page of list calls; GitHub's maximum, 100
}

// New wraps a client built by ghclient.
func New(c *github.Client) *Client { return &Client{gh: c, pageSize: 100} }

var _ changeset.GitHub = (*Client)(nil)

// splitRepo checks owner/name.
func splitRepo(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("repository %q: use owner/name", repo)
	}
	return owner, name, nil
}

// wrap explains a GitHub error about what (such as "o/r#12") in repo:
// 404 wraps changeset.ErrNotFound and 403 changeset.ErrForbidden, both
// naming the repository the token may lack access to.
func wrap(err error, what, repo string) error {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%s: not found, or the token cannot read %s: %w (%w)", what, repo, changeset.ErrNotFound, err)
		case http.StatusForbidden:
			return fmt.Errorf("%s: the token may not do this in %s: %w (%w)", what, repo, changeset.ErrForbidden, err)
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: GitHub rejected the credentials (bad or expired token); check --github-token or the App key: %w", what, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
