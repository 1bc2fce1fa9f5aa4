package gh

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v88/github"
)

// NewApp is a GitHub App just made from a manifest, with the credentials
// GitHub shows only once.
type NewApp struct {
	ID      int64
	Slug    string
	Name    string
	Owner   string // the account that owns it
	HTMLURL string // the App's page; installations start at HTMLURL/installations/new
	// PEM is the App's private key; WebhookSecret signs its deliveries.
	PEM           []byte
	WebhookSecret string
}

// ConvertManifest exchanges the code GitHub's App manifest flow handed
// back for the new App's credentials (POST /app-manifests/{code}/conversions).
// The call takes no credentials: api is ghclient.Anonymous. GitHub
// honours a code once, within an hour.
func ConvertManifest(ctx context.Context, api *github.Client, code string) (*NewApp, error) {
	cfg, _, err := api.Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("GitHub does not know the App's code: it was used already or is over an hour old; the App may exist: delete it in its settings, then run app create again: %w", err)
		}
		return nil, fmt.Errorf("exchanging the App's code for its credentials: %w", err)
	}
	app := &NewApp{ID: cfg.GetID(), Slug: cfg.GetSlug(), Name: cfg.GetName(), Owner: cfg.GetOwner().GetLogin(),
		HTMLURL: cfg.GetHTMLURL(), PEM: []byte(cfg.GetPEM()), WebhookSecret: cfg.GetWebhookSecret()}
	switch {
	case app.ID <= 0:
		return nil, errors.New("GitHub's answer for the new App has no id")
	case len(app.PEM) == 0:
		return nil, fmt.Errorf("GitHub's answer for App %d has no private key: generate one on its settings page", app.ID)
	case app.WebhookSecret == "":
		return nil, fmt.Errorf("GitHub's answer for App %d has no webhook secret: set one on its settings page", app.ID)
	}
	return app, nil
}
