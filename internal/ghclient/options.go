// Package ghclient is the one place that builds GitHub API clients. Every
// client is a stack of RoundTripper middleware:
//
//	retry -> auth -> logging -> per-credential cache -> revalidate -> network
//
// The cache revalidates every hit, so an unchanged resource comes back as a
// 304 that costs no rate limit, and the bot never reads a minute-old PR head.
package ghclient

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// DefaultAPIURL is github.com's REST API.
const DefaultAPIURL = "https://api.github.com/"

// Defaults for the retry policy.
const (
	DefaultMaxWait     = 2 * time.Minute
	DefaultMaxAttempts = 5
	DefaultRetryBase   = 500 * time.Millisecond
)

// Options configure New. Exactly one of Token or AppID+AppPrivateKey is
// required.
type Options struct {
	// APIURL is the REST API root: https://api.github.com/ or a GitHub
	// Enterprise https://ghe.example/api/v3/. A missing trailing slash is
	// added.
	APIURL string
	// Token authenticates as a user or with a personal access token.
	Token string
	// AppID and AppPrivateKey (PEM) authenticate as a GitHub App; API
	// calls then go through an installation (Factory.Installation).
	AppID         int64
	AppPrivateKey []byte
	// CacheDir holds the HTTP cache (such as <data-dir>/http-cache); empty
	// keeps it in memory for the life of the Factory.
	CacheDir string
	// MaxWait caps the total time one call spends waiting to retry,
	// including waits for a rate limit to reset. DefaultMaxWait when zero.
	MaxWait time.Duration
	// MaxAttempts caps the attempts of one call. DefaultMaxAttempts when zero.
	MaxAttempts int
	// RetryBase is the first backoff step; it doubles per attempt, with
	// jitter. DefaultRetryBase when zero.
	RetryBase time.Duration
	// Logger receives one debug line per call; nil logs nothing.
	Logger logrus.FieldLogger
	// Observer, when set, sees every call (metrics).
	Observer Observer
	// UserAgent is sent with every request.
	UserAgent string
	// Transport is the network transport at the bottom of the stack;
	// http.DefaultTransport when nil.
	Transport http.RoundTripper
}

// Validate checks the options and fills defaults. Its errors never contain
// a secret.
func (o *Options) Validate() error {
	u, err := NormalizeAPIURL(o.APIURL)
	if err != nil {
		return err
	}
	o.APIURL = u
	hasApp := o.AppID != 0 || len(o.AppPrivateKey) > 0
	switch {
	case o.Token != "" && hasApp:
		return errors.New("GitHub auth: give either a token (--github-token) or a GitHub App (--app-id and --app-private-key), not both")
	case o.Token == "" && !hasApp:
		return errors.New("GitHub auth: no credentials; pass --github-token or set WORKSPACE_BOT_GITHUB_TOKEN or GITHUB_TOKEN, or use --app-id with --app-private-key")
	case hasApp && o.AppID <= 0:
		return errors.New("GitHub App auth: --app-id is missing or not a positive number")
	case hasApp && len(o.AppPrivateKey) == 0:
		return errors.New("GitHub App auth: --app-private-key is missing; pass the PEM file the App's settings page generated")
	case hasApp:
		if err := checkPEM(o.AppPrivateKey); err != nil {
			return err
		}
	}
	if strings.ContainsAny(o.Token, " \t\r\n") {
		return errors.New("GitHub token contains whitespace; check how it was read (a trailing newline from a file?)")
	}
	if o.MaxWait < 0 || o.MaxAttempts < 0 || o.RetryBase < 0 {
		return errors.New("GitHub client: MaxWait, MaxAttempts and RetryBase must not be negative")
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.RetryBase == 0 {
		o.RetryBase = DefaultRetryBase
	}
	return nil
}

// checkPEM makes sure the key parses, so a wrong file fails at start-up
// rather than at the first webhook.
func checkPEM(key []byte) error {
	block, _ := pem.Decode(key)
	if block == nil {
		return errors.New("GitHub App auth: --app-private-key is not a PEM file; pass the .pem the App's settings page generated")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return nil
	}
	return errors.New("GitHub App auth: --app-private-key holds no RSA private key; pass the .pem the App's settings page generated")
}

// NormalizeAPIURL checks an API root and gives it exactly one trailing
// slash: go-github resolves paths against it. Empty means DefaultAPIURL.
// Credentials in the URL are refused rather than silently used, so they
// cannot end up in logs.
func NormalizeAPIURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultAPIURL, nil
	}
	if err := APIURLProblem(s); err != nil {
		return "", fmt.Errorf("--github-api-url %q: %w", RedactURL(s), err)
	}
	u, _ := url.Parse(s)
	u.Path = strings.TrimRight(u.Path, "/") + "/"
	u.RawPath = ""
	return u.String(), nil
}

// APIURLProblem says what is wrong with an API root, without repeating
// it, or nil.
func APIURLProblem(s string) error {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Errorf("use an http(s) URL such as %s or https://ghe.example/api/v3/", DefaultAPIURL)
	case u.User != nil:
		return errors.New("credentials in the URL are not used; pass the token with --github-token")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("remove the query or fragment")
	}
	return nil
}

// RedactURL hides userinfo in a string that may not parse as a URL.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			return s[:j+3] + "xxxxx" + s[i:]
		}
		return "xxxxx" + s[i:]
	}
	return s
}
