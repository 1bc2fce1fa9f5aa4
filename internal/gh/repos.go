package gh

import (
	"context"
	"fmt"

	"github.com/google/go-github/v88/github"
)

// Permission is user's permission on repo: admin, write, read or none
// (GitHub's collaborator-permission API; maintain and triage map to write
// and read there). author_association alone is not reliable for trust.
func (c *Client) Permission(ctx context.Context, repo, user string) (string, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return "", err
	}
	p, _, err := api.Repositories.GetPermissionLevel(ctx, owner, name, user)
	if err != nil {
		return "", wrap(err, fmt.Sprintf("reading %s's permission on %s", user, repo), repo)
	}
	return p.GetPermission(), nil
}

// FileContents returns a file's bytes at ref ("" for the default branch).
func (c *Client) FileContents(ctx context.Context, repo, path, ref string) ([]byte, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("reading %s from %s", path, repo)
	if ref != "" {
		what += "@" + ref
	}
	var opts *github.RepositoryContentGetOptions
	if ref != "" {
		opts = &github.RepositoryContentGetOptions{Ref: ref}
	}
	file, _, _, err := api.Repositories.GetContents(ctx, owner, name, path, opts)
	if err != nil {
		return nil, wrap(err, what, repo)
	}
	if file == nil {
		return nil, fmt.Errorf("%s: it is a directory, not a file", what)
	}
	if file.GetEncoding() == "none" {
		return nil, fmt.Errorf("%s: the file is too large for the contents API (over 1 MB)", what)
	}
	s, err := file.GetContent()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return []byte(s), nil
}
