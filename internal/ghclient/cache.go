package ghclient

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gregjones/httpcache"
	"github.com/gregjones/httpcache/diskcache"
)

// revalidate sits under the cache. GitHub answers with
// "Cache-Control: private, max-age=60", which would let the cache serve a
// PR head up to a minute old without asking; rewriting it to no-cache makes
// every hit a conditional request, and a 304 costs no rate limit.
type revalidate struct{ next http.RoundTripper }

func (t revalidate) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Header.Set("Cache-Control", "no-cache")
	resp.Header.Del("Expires")
	// Entries are partitioned per credential already. Left in Vary, the
	// cache would copy the Authorization header into every stored entry
	// (as X-Varied-Authorization), writing tokens to disk.
	if v := resp.Header.Values("Vary"); len(v) > 0 {
		var keep []string
		for _, h := range v {
			for _, f := range strings.Split(h, ",") {
				f = strings.TrimSpace(f)
				if f != "" && !strings.EqualFold(f, "Authorization") && !strings.EqualFold(f, "Cookie") {
					keep = append(keep, f)
				}
			}
		}
		resp.Header.Del("Vary")
		if len(keep) > 0 {
			resp.Header.Set("Vary", strings.Join(keep, ", "))
		}
	}
	return resp, nil
}

// credentialCache keeps one httpcache per credential, so a token with less
// access can never be answered from another token's cached bodies. The
// partition is a hash of the Authorization header unless fixed (an App
// installation keeps one partition across its hourly token rotation).
type credentialCache struct {
	dir   string // "" keeps entries in memory
	fixed string
	next  http.RoundTripper

	mu    sync.Mutex
	parts map[string]*httpcache.Transport
}

func newCredentialCache(dir, fixed string, next http.RoundTripper) *credentialCache {
	return &credentialCache{dir: dir, fixed: fixed, next: next, parts: map[string]*httpcache.Transport{}}
}

func (c *credentialCache) RoundTrip(req *http.Request) (*http.Response, error) {
	// Writes never come from the cache; httpcache would only invalidate
	// its "METHOD url" key, which no GET uses.
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return c.next.RoundTrip(req)
	}
	return c.partition(req).RoundTrip(req)
}

func (c *credentialCache) partition(req *http.Request) *httpcache.Transport {
	key := c.fixed
	if key == "" {
		key = credentialKey(req.Header.Get("Authorization"))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.parts[key]; ok {
		return t
	}
	var store httpcache.Cache
	if c.dir == "" {
		store = httpcache.NewMemoryCache()
	} else {
		store = diskcache.New(filepath.Join(c.dir, key))
	}
	t := &httpcache.Transport{Cache: store, Transport: c.next, MarkCachedResponses: true}
	c.parts[key] = t
	return t
}

// credentialKey names a partition without revealing the credential.
func credentialKey(authorization string) string {
	if authorization == "" {
		return "anonymous"
	}
	sum := sha256.Sum256([]byte(authorization))
	return "cred-" + hex.EncodeToString(sum[:12])
}

// fromCache reports whether a response was served from the cache (after a
// 304 revalidation, since every hit is revalidated).
func fromCache(resp *http.Response) bool {
	return resp != nil && resp.Header.Get(httpcache.XFromCache) == "1"
}
