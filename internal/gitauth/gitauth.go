// Package gitauth hands git its credentials the one way this project
// allows: an HTTP Authorization header in git's environment, never in a
// URL, on a command line or in a repository's config.
package gitauth

import (
	"net/url"
	"regexp"
)

// Env is the environment that makes git send authorization (an HTTP
// Authorization header value, such as ghclient's GitAuthorization) with
// every request. It is nil for "". The caller's environment must hold no
// other GIT_CONFIG_COUNT entries.
func Env(authorization string) []string {
	if authorization == "" {
		return nil
	}
	return []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=Authorization: " + authorization}
}

// Redact strips userinfo (such as a token) from a URL so it can be shown.
// Values that are not URLs are returned unchanged.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

var userinfoRe = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)

// RedactText strips userinfo from every URL inside free text, such as
// git's stderr, which may echo the URL it was given.
func RedactText(s string) string {
	return userinfoRe.ReplaceAllString(s, "$1")
}
