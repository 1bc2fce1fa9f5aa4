package appmanifest

import (
	"strconv"
	"strings"

	"github.com/provide-io/workspace-bot/internal/ghclient"
)

// APIURLFor is the REST API root of the GitHub whose web root is
// githubURL: api.github.com for github.com, /api/v3/ below a GitHub
// Enterprise server's root.
func APIURLFor(githubURL string) string {
	web := strings.TrimRight(githubURL, "/")
	if web == "" || strings.EqualFold(web, DefaultGitHubURL) {
		return ghclient.DefaultAPIURL
	}
	return web + "/api/v3/"
}

// ServeArgs are the arguments of the `workspace-bot serve` that runs as
// the App just made, with its credentials' files; apiURL is added when it
// is not github.com's.
func ServeArgs(c *Created, publicURL, apiURL string) []string {
	args := []string{"serve", "--app-id", strconv.FormatInt(c.ID, 10), "--app-private-key", c.Files.PrivateKey,
		"--webhook-secret-file", c.Files.WebhookSecret, "--public-url", publicURL}
	if apiURL != "" && apiURL != ghclient.DefaultAPIURL {
		args = append(args, "--github-api-url", apiURL)
	}
	return args
}
