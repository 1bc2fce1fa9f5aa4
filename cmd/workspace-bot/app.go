package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/provide-io/workspace-bot/internal/appmanifest"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/ghclient"
)

const (
	appSynopsis       = "app create [flags]\n\n  create  make the GitHub App that runs the service, in one step\n\nRun \"workspace-bot app create --help\" for its flags."
	appCreateSynopsis = `app create --public-url URL [--org ORG] [--name NAME] [--dir DIR] [--workflows]

Makes the GitHub App that runs "workspace-bot serve", from a manifest that
asks for exactly the events and permissions the bot uses. It serves a page
on 127.0.0.1: open it in a browser on this machine, confirm on GitHub, and
GitHub sends the browser back here. The App's id, private key and webhook
secret are then written to new files in --dir that only you can read, and
the serve command that uses them is printed, with the link that installs
the App.`
)

func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(stdout, "usage: workspace-bot %s\n", appSynopsis)
			return exitOK
		}
		if len(args) > 0 {
			fmt.Fprintf(stderr, "error: unknown app command %q: use create\n\n", args[0])
		}
		fmt.Fprintf(stderr, "usage: workspace-bot %s\n", appSynopsis)
		return exitUsage
	}
	o := appmanifest.FlowOptions{}
	var apiURL string
	fs := cli.NewFlagSet("app create", appCreateSynopsis, stderr)
	cli.Checked(fs, &o.PublicURL, "public-url", "", "url", "the https URL where GitHub reaches serve; webhooks go to its /webhook (env WORKSPACE_BOT_PUBLIC_URL)", cli.HTTPURL)
	fs.StringVar(&o.Org, "org", "", "make the App in this organisation (you must own it); default your own account")
	fs.StringVar(&o.Name, "name", "", "the App's name, unique on GitHub; default workspace-bot, or workspace-bot-ORG with --org")
	fs.StringVar(&o.Files.Dir, "dir", appmanifest.DefaultDir, "new directory for the App's id, private key and webhook secret; existing files are never overwritten")
	fs.BoolVar(&o.Workflows, "workflows", false, "also ask for the Workflows permission, so /workspace merge can land PRs that change .github/workflows")
	fs.StringVar(&o.Listen, "listen", appmanifest.DefaultListen, "the page's address; loopback only (port 0: a free one)")
	fs.StringVar(&o.GitHubURL, "github-url", envOr(appmanifest.DefaultGitHubURL, "GITHUB_SERVER_URL"), "GitHub's web address; https://ghe.example for GitHub Enterprise (env GITHUB_SERVER_URL)")
	fs.StringVar(&apiURL, "github-api-url", "", "GitHub REST API root (env GITHUB_API_URL); default the one of --github-url")
	if code, ok := cli.ParseNoArgs(fs, args[1:]); !ok {
		return code
	}
	// Only --public-url is serve's: this --listen is the page's own.
	if err := cli.ApplyEnvFor(fs, getenv, "public-url"); err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return exitUsage
	}
	if apiURL == "" {
		apiURL = envOr(appmanifest.APIURLFor(o.GitHubURL), "GITHUB_API_URL")
	}
	api, err := ghclient.Anonymous(ghclient.Options{APIURL: apiURL, UserAgent: userAgent()})
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return exitUsage
	}
	o.Convert = func(ctx context.Context, code string) (*gh.NewApp, error) { return gh.ConvertManifest(ctx, api, code) }
	o.Ready = func(pageURL string) {
		fmt.Fprintf(stdout, "Open %s in a browser on this machine to make the App on GitHub.\nWaiting for GitHub to send the browser back (Ctrl-C stops).\n", pageURL)
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return exitUsage
	}
	created, err := appmanifest.Create(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return exitInfra
	}
	printCreated(stdout, created, o.PublicURL, apiURL)
	return exitOK
}

// printCreated says where the credentials are, how to install the App
// and how to run serve as it; never a secret.
func printCreated(w io.Writer, c *appmanifest.Created, publicURL, apiURL string) {
	fmt.Fprintf(w, "\nMade the GitHub App %s (id %d), owned by %s. Its credentials, readable by you only:\n", c.Slug, c.ID, c.Owner)
	for _, p := range []string{c.Files.AppID, c.Files.PrivateKey, c.Files.WebhookSecret} {
		fmt.Fprintf(w, "  %s\n", p)
	}
	fmt.Fprintf(w, "\nInstall it on the workspace repository and every sibling:\n  %s\n", c.InstallURL)
	fmt.Fprintf(w, "\nThen run the service as the App (it reads ./wrknv.toml; add --workspace-repo OWNER/REPO to read it from GitHub):\n  workspace-bot")
	for _, a := range appmanifest.ServeArgs(c, publicURL, apiURL) {
		fmt.Fprintf(w, " %s", shellQuote(a))
	}
	fmt.Fprintln(w)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
