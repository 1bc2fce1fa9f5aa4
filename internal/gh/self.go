package gh

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/internal/ghclient"
)

// Self returns a function that looks up the login the bot acts as, whose
// comments are never read as commands: a token's own user (GET /user), or
// a GitHub App's bot, <slug>[bot] (GET /app). A token GitHub will not
// name (GitHub Actions' GITHUB_TOKEN, which acts as github-actions[bot])
// gives "" and no error: a [bot] login is skipped anyway.
func Self(f *ghclient.Factory) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if f.IsApp() {
			api, err := f.AppClient()
			if err != nil {
				return "", err
			}
			app, _, err := api.Apps.Get(ctx, "")
			if err != nil {
				return "", wrap(err, "looking up the App (GET /app)", "the App")
			}
			if app.GetSlug() == "" {
				return "", errors.New("looking up the App (GET /app): GitHub returned no slug")
			}
			return app.GetSlug() + "[bot]", nil
		}
		api, err := f.Client()
		if err != nil {
			return "", err
		}
		u, _, err := api.Users.Get(ctx, "")
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden {
			return "", nil
		}
		if err != nil {
			return "", wrap(err, "looking up the token's user (GET /user)", "the token's account")
		}
		if u.GetLogin() == "" {
			return "", fmt.Errorf("looking up the token's user (GET /user): GitHub returned no login")
		}
		return u.GetLogin(), nil
	}
}
