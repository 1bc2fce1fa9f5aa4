package appmanifest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/internal/gh"
)

// DefaultGitHubURL is github.com's web root, where Apps are made.
const DefaultGitHubURL = "https://github.com"

// DefaultListen serves the page on a free loopback port.
const DefaultListen = "127.0.0.1:0"

// FlowOptions configure Create.
type FlowOptions struct {
	Options
	// GitHubURL is GitHub's web root: DefaultGitHubURL, or a GitHub
	// Enterprise server's https://ghe.example.
	GitHubURL string
	// Listen is the page's address, on a loopback interface only;
	// DefaultListen when empty.
	Listen string
	Files  Files
	// Convert exchanges the code GitHub hands back for the App's
	// credentials: gh.ConvertManifest through an anonymous client.
	Convert func(ctx context.Context, code string) (*gh.NewApp, error)
	// Ready is told the page's URL once it is served.
	Ready func(pageURL string)
}

// Created is the App that was made, without its secrets.
type Created struct {
	ID         int64
	Slug       string
	Owner      string
	HTMLURL    string
	InstallURL string // where the App is installed on repositories
	Files      Files
}

// Validate checks the options before anything is served or made.
func (o *FlowOptions) Validate() error {
	if err := o.Options.Validate(); err != nil {
		return err
	}
	if o.GitHubURL == "" {
		o.GitHubURL = DefaultGitHubURL
	}
	u, err := url.Parse(o.GitHubURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return fmt.Errorf("--github-url %q: use GitHub's web address, %s, or a GitHub Enterprise server's such as https://ghe.example", o.GitHubURL, DefaultGitHubURL)
	}
	o.GitHubURL = strings.TrimRight(u.String(), "/")
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen %q: the page hands over the App's credentials, so it stays on this machine: use 127.0.0.1:PORT (or 127.0.0.1:0 for a free port)", o.Listen)
	}
	if o.Files.Dir == "" {
		o.Files.Dir = DefaultDir
	}
	// Absolute, so the serve command printed at the end works from
	// any directory.
	dir, err := filepath.Abs(o.Files.Dir)
	if err != nil {
		return fmt.Errorf("--dir %q: %w", o.Files.Dir, err)
	}
	o.Files = FilesIn(dir)
	if o.Convert == nil {
		return errors.New("appmanifest: FlowOptions.Convert is required")
	}
	return o.Files.Check()
}

// formURL is where the manifest is posted: the user's Apps or the
// organisation's.
func (o *FlowOptions) formURL(state string) string {
	path := "/settings/apps/new"
	if o.Org != "" {
		path = "/organizations/" + url.PathEscape(o.Org) + "/settings/apps/new"
	}
	return o.GitHubURL + path + "?state=" + url.QueryEscape(state)
}

// Create serves the page that makes the App, waits for GitHub to send the
// browser back, exchanges the code and writes the credentials. It returns
// when they are written, when that failed, or when ctx ends.
func Create(ctx context.Context, o FlowOptions) (*Created, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("serving the page on %s: %w", o.Listen, err)
	}
	pageURL := "http://" + ln.Addr().String() + "/"
	m, err := New(o.Options, pageURL+"callback")
	if err != nil {
		ln.Close()
		return nil, err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	f := &flow{opts: o, manifest: m, manifestJSON: string(raw), state: randomState(), ctx: ctx, done: make(chan flowResult, 1)}
	srv := &http.Server{Handler: f.routes(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if o.Ready != nil {
		o.Ready(pageURL)
	}
	var res flowResult
	select {
	case res = <-f.done:
	case <-ctx.Done():
		res.err = fmt.Errorf("stopped before GitHub sent the browser back: %w", ctx.Err())
	}
	// The result page has been written; let it reach the browser.
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown) //nolint:errcheck // closing; the result is what matters
	<-served
	return res.created, res.err
}

type flowResult struct {
	created *Created
	err     error
}

// flow is one run of the manifest flow.
type flow struct {
	opts         FlowOptions
	manifest     *Manifest
	manifestJSON string
	state        string
	// ctx is Create's: the exchange outlives a browser that goes away.
	ctx  context.Context
	done chan flowResult

	mu   sync.Mutex
	used bool // a code came back with the right state: the flow is over
}

func randomState() string {
	buf := make([]byte, 32)
	rand.Read(buf) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(buf)
}

func (f *flow) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", f.servePage)
	mux.HandleFunc("GET /callback", f.serveCallback)
	return mux
}

// securityHeaders allow the page nothing but its own style and a form
// posted to GitHub (and the redirect back here).
func (f *flow) securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "+f.opts.GitHubURL+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
}

func (f *flow) servePage(w http.ResponseWriter, r *http.Request) {
	f.securityHeaders(w)
	var perms []string
	for _, p := range f.opts.Permissions() {
		perms = append(perms, PermissionTitle(p))
	}
	pageTmpl.Execute(w, pageData{ //nolint:errcheck // the browser went away
		Name: f.manifest.Name, Org: f.opts.Org, Action: f.opts.formURL(f.state), Manifest: f.manifestJSON,
		Permissions: perms, Events: strings.Join(f.manifest.DefaultEvents, ", "), Hook: f.manifest.HookAttributes.URL, Dir: f.opts.Files.Dir,
	})
}

func (f *flow) serveCallback(w http.ResponseWriter, r *http.Request) {
	f.securityHeaders(w)
	q := r.URL.Query()
	state, code := q.Get("state"), q.Get("code")
	if subtle.ConstantTimeCompare([]byte(state), []byte(f.state)) != 1 {
		w.WriteHeader(http.StatusBadRequest)
		resultTmpl.Execute(w, resultData{Error: "This answer does not carry the state this page sent, so it did not come from the App this page asked GitHub to make. Start again from the page app create printed."}) //nolint:errcheck // the browser went away
		return
	}
	if code == "" {
		w.WriteHeader(http.StatusBadRequest)
		resultTmpl.Execute(w, resultData{Error: "GitHub sent the browser back without a code. Start again from the page app create printed."}) //nolint:errcheck // the browser went away
		return
	}
	f.mu.Lock()
	used := f.used
	f.used = true
	f.mu.Unlock()
	if used {
		w.WriteHeader(http.StatusConflict)
		resultTmpl.Execute(w, resultData{Error: "This App's code was already used: see the terminal where app create ran."}) //nolint:errcheck // the browser went away
		return
	}
	created, err := f.complete(code)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		resultTmpl.Execute(w, resultData{Error: err.Error()}) //nolint:errcheck // the browser went away
	} else {
		resultTmpl.Execute(w, resultData{Created: created}) //nolint:errcheck // the browser went away
	}
	f.done <- flowResult{created: created, err: err}
}

// complete exchanges the code and writes the credentials.
func (f *flow) complete(code string) (*Created, error) {
	app, err := f.opts.Convert(f.ctx, code)
	if err != nil {
		return nil, err
	}
	if err := f.opts.Files.Write(app); err != nil {
		return nil, fmt.Errorf("App %d (%s) was made, but its credentials could not be written: %w; generate a new private key and webhook secret on its settings page, %s", app.ID, app.Slug, err, app.HTMLURL)
	}
	return &Created{ID: app.ID, Slug: app.Slug, Owner: app.Owner, HTMLURL: app.HTMLURL,
		InstallURL: strings.TrimRight(app.HTMLURL, "/") + "/installations/new", Files: f.opts.Files}, nil
}
