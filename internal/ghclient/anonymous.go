package ghclient

import (
	"errors"

	"github.com/google/go-github/v88/github"
)

// Anonymous is a client that sends no credentials, for the endpoints that
// take none: exchanging an App manifest's code for the App's credentials
// is how a new App gets any. It is the same stack as every other client
// (retry, logging, the API root) without authentication or a cache: its
// answers are secrets, and the first is not worth keeping.
func Anonymous(opts Options) (*github.Client, error) {
	if opts.Token != "" || opts.AppID != 0 || len(opts.AppPrivateKey) > 0 {
		return nil, errors.New("ghclient: an anonymous client takes no credentials")
	}
	// Validation wants credentials; this placeholder is never sent, as
	// no authentication layer is built below.
	opts.Token = "anonymous"
	f, err := New(opts)
	if err != nil {
		return nil, err
	}
	return f.client(f.inner("", false)), nil
}
