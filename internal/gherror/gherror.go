// Package gherror is what can go wrong in a call to GitHub, as the rest
// of workspace-bot sees it: the adapter turns go-github's errors into
// these kinds, and Final is the one answer to "can asking again help?".
package gherror

import (
	"errors"
	"time"
)

// The kinds of failure. Each is a sentinel that errors.Is finds in a
// wrapped error.
var (
	// NotFound: the resource is gone, or the credentials cannot see it.
	NotFound = errors.New("not found")
	// Forbidden: the credentials may not do this.
	Forbidden = errors.New("access denied")
	// Rejected: GitHub refused the request itself (422).
	Rejected = errors.New("GitHub rejected the request")
	// RateLimited: a rate limit outlasted the client's wait; see Limit.
	RateLimited = errors.New("rate limited")
)

// Limit is a rate limit that outlasted the client's wait: the call may
// be made again from Until (zero when GitHub did not say).
type Limit struct {
	Until time.Time
	Err   error
}

func (l *Limit) Error() string { return l.Err.Error() }

// Unwrap lets errors.Is find RateLimited and the client's own error.
func (l *Limit) Unwrap() []error { return []error{RateLimited, l.Err} }

// Final says whether asking GitHub again cannot help: what was asked for
// is gone or out of reach, or GitHub refused the request itself. Anything
// else (a 5xx, the network, a rate limit, bad credentials an operator can
// fix) is worth asking again.
func Final(err error) bool {
	return errors.Is(err, NotFound) || errors.Is(err, Forbidden) || errors.Is(err, Rejected)
}
