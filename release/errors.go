package release

import (
	"fmt"
	"net/url"
	"regexp"
)

// InputError is a problem with the release's input: a fragment naming an
// unknown package, a malformed version or range. Its message names the
// file and the fix. Any other error is git or GitHub trouble.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// redact strips userinfo (a token) from a URL so it can be shown.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

var userinfoRe = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)

// redactText strips userinfo from every URL in free text, such as git's
// stderr.
func redactText(s string) string { return userinfoRe.ReplaceAllString(s, "$1") }
