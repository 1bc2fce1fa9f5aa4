package ghclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v88/github"
	"golang.org/x/oauth2"
)

// Factory builds GitHub clients that share one configuration. With a token
// it hands out one client; with a GitHub App it hands out one client per
// installation (the service learns the installation id from each webhook;
// the CLI discovers it per repository).
type Factory struct {
	opts    Options
	network http.RoundTripper

	mu       sync.Mutex
	token    *github.Client
	installs map[int64]*github.Client
	instTok  map[int64]*ghinstallation.Transport
	repoInst map[string]int64

	// sleep and now replace the retry clock in tests.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

// New validates opts and returns a Factory.
func New(opts Options) (*Factory, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	network := opts.Transport
	if network == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = time.Minute
		network = t
	}
	return &Factory{opts: opts, network: network, installs: map[int64]*github.Client{}, instTok: map[int64]*ghinstallation.Transport{}, repoInst: map[string]int64{}}, nil
}

// APIURL is the normalized API root.
func (f *Factory) APIURL() string { return f.opts.APIURL }

// IsApp reports whether the Factory authenticates as a GitHub App.
func (f *Factory) IsApp() bool { return f.opts.AppID != 0 }

// inner is the part of the stack under authentication.
func (f *Factory) inner(partition string, cached bool) http.RoundTripper {
	var rt http.RoundTripper = revalidate{next: f.network}
	if cached {
		rt = newCredentialCache(f.opts.CacheDir, partition, rt)
	}
	return observe{next: rt, log: f.opts.Logger, observer: f.opts.Observer}
}

func (f *Factory) client(rt http.RoundTripper) *github.Client {
	r := newRetry(rt, &f.opts)
	if f.sleep != nil {
		r.sleep = f.sleep
	}
	if f.now != nil {
		r.now = f.now
	}
	// WithURLs as given: WithEnterpriseURLs would append api/v3/ to any
	// host that does not start with "api.", breaking emulators and proxies.
	opts := []github.ClientOptionsFunc{github.WithHTTPClient(&http.Client{Transport: r}), github.WithURLs(&f.opts.APIURL, &f.opts.APIURL)}
	if f.opts.UserAgent != "" {
		opts = append(opts, github.WithUserAgent(f.opts.UserAgent))
	}
	c, err := github.NewClient(opts...)
	if err != nil {
		// The URL was checked by Options.Validate.
		panic(fmt.Sprintf("ghclient: %v", err))
	}
	return c
}

// Client is the token-authenticated client. A GitHub App has no single
// client: use Installation or ForRepo.
func (f *Factory) Client() (*github.Client, error) {
	if f.IsApp() {
		return nil, errors.New("GitHub App auth acts through an installation: use the installation id from the webhook, or ForRepo to look it up")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.token == nil {
		src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: f.opts.Token})
		f.token = f.client(&oauth2.Transport{Source: src, Base: f.inner("", true)})
	}
	return f.token, nil
}

// Installation is the client acting as one installation of the App. Its
// tokens are minted and refreshed as needed; its cache partition outlives
// the hourly token rotation.
func (f *Factory) Installation(id int64) (*github.Client, error) {
	if !f.IsApp() {
		return nil, errors.New("installation clients need GitHub App auth (--app-id and --app-private-key)")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.installs[id]; ok {
		return c, nil
	}
	inner := f.inner(fmt.Sprintf("app%d-installation%d", f.opts.AppID, id), true)
	atr, err := ghinstallation.NewAppsTransport(inner, f.opts.AppID, f.opts.AppPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("GitHub App %d: reading the private key: %w", f.opts.AppID, err)
	}
	atr.BaseURL = strings.TrimRight(f.opts.APIURL, "/")
	itr := ghinstallation.NewFromAppsTransport(atr, id)
	// ghinstallation defaults to api.github.com; without this a GitHub
	// Enterprise or emulator installation would mint tokens elsewhere.
	itr.BaseURL = atr.BaseURL
	c := f.client(itr)
	f.installs[id] = c
	f.instTok[id] = itr
	return c, nil
}

// AppClient is authenticated as the App itself (a JWT), for the /app
// endpoints. It is not cached: every JWT differs.
func (f *Factory) AppClient() (*github.Client, error) {
	if !f.IsApp() {
		return nil, errors.New("the App client needs GitHub App auth (--app-id and --app-private-key)")
	}
	atr, err := ghinstallation.NewAppsTransport(f.inner("", false), f.opts.AppID, f.opts.AppPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("GitHub App %d: reading the private key: %w", f.opts.AppID, err)
	}
	atr.BaseURL = strings.TrimRight(f.opts.APIURL, "/")
	return f.client(atr), nil
}

// InstallationForRepo finds the App's installation on owner/name
// (GET /repos/{owner}/{repo}/installation), remembering the answer.
func (f *Factory) InstallationForRepo(ctx context.Context, repo string) (int64, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" {
		return 0, fmt.Errorf("repository %q: use owner/name", repo)
	}
	key := strings.ToLower(repo)
	f.mu.Lock()
	id, ok := f.repoInst[key]
	f.mu.Unlock()
	if ok {
		return id, nil
	}
	app, err := f.AppClient()
	if err != nil {
		return 0, err
	}
	inst, _, err := app.Apps.GetRepositoryInstallation(ctx, owner, name)
	if err != nil {
		return 0, fmt.Errorf("GitHub App %d is not installed on %s or cannot see it (install the App on that repository): %w", f.opts.AppID, repo, err)
	}
	id = inst.GetID()
	f.mu.Lock()
	f.repoInst[key] = id
	f.mu.Unlock()
	return id, nil
}

// ForRepo is the client to use for repo: the token client, or the App's
// installation on that repository.
func (f *Factory) ForRepo(ctx context.Context, repo string) (*github.Client, error) {
	if !f.IsApp() {
		return f.Client()
	}
	id, err := f.InstallationForRepo(ctx, repo)
	if err != nil {
		return nil, err
	}
	return f.Installation(id)
}

// GitHost is the host that serves git for this API: github.com for
// api.github.com, the API's own host for GitHub Enterprise (and emulators).
func (f *Factory) GitHost() string {
	u, err := url.Parse(f.opts.APIURL)
	if err != nil {
		return ""
	}
	if strings.EqualFold(u.Host, "api.github.com") {
		return "github.com"
	}
	return u.Host
}

// GitAuthorization is the HTTP Authorization header value that lets git
// fetch repoURL, or "" when the URL is not served by this GitHub (another
// host, ssh, a local path) or already carries credentials. With a token it
// is the token; as an App, a fresh installation token for that repository.
// The value goes to git through its environment, never on a command line
// or into a repository's config.
func (f *Factory) GitAuthorization(ctx context.Context, repoURL string) (string, error) {
	u, err := url.Parse(repoURL)
	if err != nil || u.User != nil || !strings.EqualFold(u.Host, f.GitHost()) {
		return "", nil
	}
	api, _ := url.Parse(f.opts.APIURL)
	// Credentials never travel in clear text unless the API itself does.
	if u.Scheme != "https" && !(api != nil && u.Scheme == api.Scheme) {
		return "", nil
	}
	tok := f.opts.Token
	if f.IsApp() {
		parts := strings.Split(strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git"), "/")
		if len(parts) < 2 {
			return "", nil
		}
		repo := parts[len(parts)-2] + "/" + parts[len(parts)-1]
		id, err := f.InstallationForRepo(ctx, repo)
		if err != nil {
			return "", err
		}
		if _, err := f.Installation(id); err != nil {
			return "", err
		}
		f.mu.Lock()
		itr := f.instTok[id]
		f.mu.Unlock()
		if tok, err = itr.Token(ctx); err != nil {
			return "", fmt.Errorf("an installation token to fetch %s: %w", repo, err)
		}
	}
	if tok == "" {
		return "", nil
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+tok)), nil
}

// MayChangeWorkflows says whether the credentials may merge a change to
// .github/workflows in repo: an App needs its installation's workflows
// permission, which its token reports. For a token GitHub does not say
// (known is false): the merge itself tells.
func (f *Factory) MayChangeWorkflows(ctx context.Context, repo string) (may, known bool, err error) {
	if !f.IsApp() {
		return false, false, nil
	}
	id, err := f.InstallationForRepo(ctx, repo)
	if err != nil {
		return false, false, err
	}
	if _, err := f.Installation(id); err != nil {
		return false, false, err
	}
	f.mu.Lock()
	tr := f.instTok[id]
	f.mu.Unlock()
	if _, err := tr.Token(ctx); err != nil {
		return false, false, fmt.Errorf("an installation token for %s: %w", repo, err)
	}
	perms, err := tr.Permissions()
	if err != nil {
		return false, false, err
	}
	return perms.GetWorkflows() == "write", true, nil
}
