package ci

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Redacted replaces every secret in build output.
const Redacted = "[redacted]"

// minSecret is the shortest value censored: a shorter one would redact
// ordinary text, and no token or key is that short.
const minSecret = 6

// secretForms are the ways a secret can appear in output: as itself, in
// base64 (standard and URL alphabets, at each of the three alignments it
// can have inside a longer encoded text, so "user:TOKEN" | base64 is
// caught too), and URL-encoded.
func secretForms(secret string) []string {
	if len(secret) < minSecret {
		return nil
	}
	forms := []string{secret}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := 0; k < 3; k++ {
			// k bytes before the secret change the first characters of its
			// encoding, and what follows it the last one: keep only the
			// characters that depend on the secret alone.
			s := enc.EncodeToString(append(make([]byte, k), secret...))
			s = s[[]int{0, 2, 3}[k]:]
			if (k+len(secret))%3 != 0 {
				s = s[:len(s)-1]
			}
			if len(s) >= minSecret {
				forms = append(forms, s)
			}
		}
	}
	forms = append(forms, url.QueryEscape(secret), url.PathEscape(secret))
	return forms
}

// secrets is the set of values a run censors, shared by its steps: it
// grows while the run fetches (each credential handed to git is added).
type secrets struct {
	mu      sync.Mutex
	needles []string // every form of every secret, longest first
}

func newSecrets(values []string) *secrets {
	s := &secrets{}
	for _, v := range values {
		s.add(v)
	}
	return s
}

// add censors value from now on. An HTTP Authorization value is censored
// whole and by the credential it carries.
func (s *secrets) add(value string) {
	vals := []string{value}
	if scheme, cred, ok := strings.Cut(value, " "); ok {
		vals = append(vals, cred)
		if strings.EqualFold(scheme, "basic") {
			if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
				_, pass, _ := strings.Cut(string(raw), ":")
				vals = append(vals, pass)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, n := range s.needles {
		seen[n] = true
	}
	for _, v := range vals {
		for _, f := range secretForms(v) {
			if !seen[f] {
				seen[f] = true
				s.needles = append(s.needles, f)
			}
		}
	}
	sort.SliceStable(s.needles, func(i, j int) bool { return len(s.needles[i]) > len(s.needles[j]) })
}

// list is the current needles (nil for a nil set).
func (s *secrets) list() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.needles
}

// text censors a whole string.
func (s *secrets) text(str string) string {
	for _, n := range s.list() {
		str = strings.ReplaceAll(str, n, Redacted)
	}
	return str
}

// censor is a stream filter: it passes bytes on to emit with every needle
// replaced by Redacted, holding back the last len(longest needle)-1 bytes
// until more arrive or flush, so a secret split across two writes is
// caught. Not safe for concurrent use.
type censor struct {
	needles []string
	longest int
	pending []byte
	next    []int // per needle: the index of its next match in the scan, or -1
	emit    func([]byte)
}

func newCensor(needles []string, emit func([]byte)) *censor {
	c := &censor{needles: needles, emit: emit, next: make([]int, len(needles))}
	for _, n := range needles {
		if len(n) > c.longest {
			c.longest = len(n)
		}
	}
	return c
}

func (c *censor) write(p []byte) {
	if len(c.needles) == 0 {
		c.emit(p)
		return
	}
	data := p
	if len(c.pending) > 0 {
		data = append(c.pending, p...)
	}
	keep := c.scan(data, len(data)-(c.longest-1))
	c.pending = append(c.pending[:0:0], data[keep:]...)
}

// flush emits what is held back: the stream ended.
func (c *censor) flush() {
	if len(c.pending) > 0 {
		c.scan(c.pending, len(c.pending))
		c.pending = nil
	}
}

// scan emits data up to limit with needles replaced, and returns where it
// stopped. A needle found at i < limit lies wholly inside data (limit
// leaves room for the longest), so everything before limit can be
// decided; a needle starting at or after limit waits for more input.
func (c *censor) scan(data []byte, limit int) int {
	for k, n := range c.needles {
		c.next[k] = bytes.Index(data, []byte(n))
	}
	i := 0
	for {
		best := -1
		for k := range c.needles {
			if c.next[k] >= 0 && c.next[k] < i {
				// overlapped by a match already replaced: look again
				if j := bytes.Index(data[i:], []byte(c.needles[k])); j >= 0 {
					c.next[k] = i + j
				} else {
					c.next[k] = -1
				}
			}
			// needles are longest first, so on a tie the longest wins
			if c.next[k] >= 0 && (best < 0 || c.next[k] < c.next[best]) {
				best = k
			}
		}
		if best < 0 || c.next[best] >= limit {
			break
		}
		at := c.next[best]
		if at > i {
			c.emit(data[i:at])
		}
		c.emit([]byte(Redacted))
		i = at + len(c.needles[best])
	}
	if limit > i {
		c.emit(data[i:limit])
		return limit
	}
	return i
}

// result censors everything a run returns. The error keeps its type
// (an *InputError still is one) but says nothing secret.
func (s *secrets) result(res *Result, err error) (*Result, error) {
	if len(s.list()) == 0 {
		return res, err
	}
	if res != nil {
		res.Error = s.text(res.Error)
		for i := range res.Steps {
			st := &res.Steps[i]
			st.Command, st.Log, st.LogTail = s.text(st.Command), s.text(st.Log), s.text(st.LogTail)
			s.censorTests(st.Tests)
		}
	}
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			ie.Msg = s.text(ie.Msg)
		}
		var ge *GitError
		if errors.As(err, &ge) {
			ge.Stderr = s.text(ge.Stderr)
		}
		if msg := s.text(err.Error()); msg != err.Error() {
			err = &censoredError{msg: msg, err: err}
		}
	}
	return res, err
}

// censoredError is an error whose message had a secret in it.
type censoredError struct {
	msg string
	err error
}

func (e *censoredError) Error() string { return e.msg }
func (e *censoredError) Unwrap() error { return e.err }
