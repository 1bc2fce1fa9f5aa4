// Package appmanifest makes the GitHub App that runs the service, in one
// step, through GitHub's App manifest flow: the manifest names the events
// the bot handles (bot.Events) and the permissions its calls need
// (gh.AppPermissions); a page on 127.0.0.1 posts it to GitHub; the code
// GitHub hands back is exchanged once for the App's credentials, which
// are written to files only their owner can read.
package appmanifest

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/webhook"
)

// DefaultName is the App's name unless one is given. App names are
// unique across GitHub, so with --org it carries the organisation's.
const DefaultName = "workspace-bot"

// maxName is GitHub's limit on an App's name.
const maxName = 34

// Options are what the person making the App chooses.
type Options struct {
	// Name of the App; DefaultName (with "-ORG" for an organisation)
	// when empty. GitHub's page lets it be changed before the App is made.
	Name string
	// PublicURL is where GitHub reaches the service: its webhooks go to
	// PublicURL + webhook.Path.
	PublicURL string
	// Org makes the App in this organisation; the signed-in user's
	// account when empty.
	Org string
	// Workflows asks for gh.WorkflowsPermission too, so /workspace merge
	// can land a PR that changes .github/workflows.
	Workflows bool
}

// Manifest is a GitHub App manifest, as GitHub documents its fields.
type Manifest struct {
	Name               string            `json:"name"`
	URL                string            `json:"url"`
	Description        string            `json:"description"`
	HookAttributes     HookAttributes    `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	Public             bool              `json:"public"`
	DefaultEvents      []string          `json:"default_events"`
	DefaultPermissions map[string]string `json:"default_permissions"`
}

// HookAttributes configure the App's webhook.
type HookAttributes struct {
	URL    string `json:"url"`
	Active bool   `json:"active"`
}

// Validate checks the options and fills the default name.
func (o *Options) Validate() error {
	o.Org = strings.TrimSpace(o.Org)
	if o.Org != "" && !validLogin(o.Org) {
		return fmt.Errorf("--org %q: give the organisation's login, such as provide-io", o.Org)
	}
	if o.Name == "" {
		o.Name = DefaultName
		if o.Org != "" {
			o.Name += "-" + strings.ToLower(o.Org)
		}
		if len(o.Name) > maxName {
			o.Name = o.Name[:maxName]
		}
	}
	if strings.TrimSpace(o.Name) == "" || len(o.Name) > maxName {
		return fmt.Errorf("--name %q: give a name of 1 to %d characters, unique on GitHub", o.Name, maxName)
	}
	if o.PublicURL == "" {
		return errors.New("--public-url is required: the https URL where GitHub reaches `workspace-bot serve`, such as https://bot.example.com")
	}
	u, err := url.Parse(o.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--public-url %q: use the service's http(s) URL without credentials, query or fragment, such as https://bot.example.com", o.PublicURL)
	}
	o.PublicURL = strings.TrimRight(u.String(), "/")
	return nil
}

func validLogin(s string) bool {
	if s == "" || len(s) > 39 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Permissions are the permissions the App asks for: those the bot's calls
// need, and the workflows permission when o asks for it.
func (o Options) Permissions() []gh.Permission {
	perms := gh.AppPermissions()
	if o.Workflows {
		perms = append(perms, gh.WorkflowsPermission)
		sort.Slice(perms, func(i, j int) bool { return perms[i].Name < perms[j].Name })
	}
	return perms
}

// Events are the events the App subscribes to: those the bot handles.
func Events() []string {
	events := bot.Events()
	sort.Strings(events)
	return events
}

// New is the manifest of the App o describes, sending the browser back
// to redirectURL with the code. The App is private: it is installed by
// its owner only.
func New(o Options, redirectURL string) (*Manifest, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	perms := map[string]string{}
	for _, p := range o.Permissions() {
		perms[p.Name] = p.Access
	}
	return &Manifest{
		Name:               o.Name,
		URL:                o.PublicURL,
		Description:        "Builds and tests linked pull requests across a workspace's repositories as one, and reports on each.",
		HookAttributes:     HookAttributes{URL: o.PublicURL + webhook.Path, Active: true},
		RedirectURL:        redirectURL,
		Public:             false,
		DefaultEvents:      Events(),
		DefaultPermissions: perms,
	}, nil
}
