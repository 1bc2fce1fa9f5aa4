package changeset

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

var (
	// GitHub owner and repository names: letters, digits, '-', '_' and '.'.
	nameRe  = `[A-Za-z0-9_.\-]+`
	shortRe = regexp.MustCompile(`^(?:(` + nameRe + `)/)?(` + nameRe + `)#([0-9]+)$`)
	onlyRe  = regexp.MustCompile(`^` + nameRe + `$`)
)

// ParseRef reads a pull request reference in any of the forms a person
// writes: https://github.com/o/r/pull/N (any host, so GitHub Enterprise
// links work, with or without a trailing /files, query or fragment), o/r#N,
// or r#N, which means a repository of defaultOwner.
func ParseRef(s, defaultOwner string) (Ref, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return parseURLRef(s)
	}
	m := shortRe.FindStringSubmatch(s)
	if m == nil {
		return Ref{}, fmt.Errorf("%q is not a pull request reference; write https://github.com/owner/repo/pull/N, owner/repo#N or repo#N", s)
	}
	owner := m[1]
	if owner == "" {
		if defaultOwner == "" {
			return Ref{}, fmt.Errorf("%q names no owner and there is no default; write owner/%s", s, s)
		}
		owner = defaultOwner
	}
	return newRef(owner, m[2], m[3], s)
}

func parseURLRef(s string) (Ref, error) {
	u, err := url.Parse(s)
	bad := fmt.Errorf("%q is not a pull request URL; it should look like https://github.com/owner/repo/pull/N", s)
	if err != nil || u.Host == "" {
		return Ref{}, bad
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 4 || parts[2] != "pull" {
		return Ref{}, bad
	}
	return newRef(parts[0], parts[1], parts[3], s)
}

// newRef checks the parts of a reference. A clone URL's ".git" is
// dropped from the name; what remains must be a name that reads back as
// itself (GitHub refuses repository names ending in ".git").
func newRef(owner, name, number, orig string) (Ref, error) {
	repo := strings.TrimSuffix(name, ".git")
	if !onlyRe.MatchString(owner) || !onlyRe.MatchString(repo) || repo == "." || repo == ".." || strings.HasSuffix(repo, ".git") {
		return Ref{}, fmt.Errorf("%q: %q is not a GitHub owner/repository name", orig, owner+"/"+name)
	}
	n, err := strconv.Atoi(number)
	if err != nil || n <= 0 {
		return Ref{}, fmt.Errorf("%q: pull request number %q must be a positive number", orig, number)
	}
	return Ref{Repo: owner + "/" + repo, Number: n}, nil
}

// Owner is the repository owner.
func (r Ref) Owner() string {
	o, _, _ := strings.Cut(r.Repo, "/")
	return o
}

// key compares refs as GitHub does: repository names case-insensitively.
func (r Ref) key() string { return strings.ToLower(r.String()) }

// less orders refs by repository (case-insensitively), then number.
func (r Ref) less(o Ref) bool {
	a, b := strings.ToLower(r.Repo), strings.ToLower(o.Repo)
	if a != b {
		return a < b
	}
	return r.Number < o.Number
}
