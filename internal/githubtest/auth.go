package githubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// OpenLogin is who a request acts as while no token is registered: the
// login GitHub Actions' GITHUB_TOKEN acts as.
const OpenLogin = "github-actions[bot]"

// identity is who a request acts as.
type identity struct {
	login     string
	key       string   // rate-limit bucket
	repos     []string // nil: every repository
	anonymous bool     // no credentials at all
	installID int64    // set for installation tokens
	appID     int64    // the App, for installation tokens and App JWTs
	jwt       bool     // authenticated as the App itself
}

func (id *identity) rateSubject() string {
	switch {
	case id.installID != 0:
		return fmt.Sprintf("installation ID %d", id.installID)
	case id.anonymous:
		return "127.0.0.1"
	default:
		return "user " + id.login
	}
}

type tokenEntry struct {
	Token
	installID int64
	appID     int64
	expires   time.Time
}

// AddToken registers a token. Once any token is registered every API
// request needs a registered one (Authorization: token X, or Bearer X).
func (s *Server) AddToken(token string, t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Repos = append([]string(nil), t.Repos...)
	s.st.tokens[token] = &tokenEntry{Token: t}
	s.st.userID(t.Login)
}

func credentials(r *http.Request) (scheme, value string) {
	a := strings.TrimSpace(r.Header.Get("Authorization"))
	if a == "" {
		return "", ""
	}
	scheme, value, _ = strings.Cut(a, " ")
	return strings.ToLower(scheme), strings.TrimSpace(value)
}

// authenticate returns who the request acts as, or a status and body to
// answer instead.
func (s *Server) authenticate(r *http.Request, appRoute bool) (*identity, int, any) {
	scheme, value := credentials(r)
	if appRoute {
		if scheme != "bearer" || value == "" {
			return nil, http.StatusUnauthorized, errBody("A JSON web token could not be decoded")
		}
		return s.authenticateJWT(value)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if value == "" {
		if len(s.st.tokens) > 0 {
			return nil, http.StatusUnauthorized, errBody("Requires authentication")
		}
		return &identity{login: OpenLogin, key: "anonymous", anonymous: true}, 0, nil
	}
	if scheme != "token" && scheme != "bearer" && scheme != "basic" {
		return nil, http.StatusUnauthorized, errBody("Bad credentials")
	}
	t, ok := s.st.tokens[value]
	if !ok {
		if len(s.st.tokens) > 0 {
			return nil, http.StatusUnauthorized, errBody("Bad credentials")
		}
		return &identity{login: OpenLogin, key: "token:" + tokenKey(value)}, 0, nil
	}
	if !t.expires.IsZero() && time.Now().After(t.expires) {
		return nil, http.StatusUnauthorized, errBody("Bad credentials")
	}
	return &identity{
		login: t.Login, key: "token:" + tokenKey(value), repos: t.Repos,
		installID: t.installID, appID: t.appID,
	}, 0, nil
}

// tokenKey names a token's rate-limit bucket without keeping the token
// itself in more places than needed.
func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}

// visible reports whether who can see repo; GitHub answers 404, not 403,
// for a repository the caller may not see.
func (s *Server) visible(who *identity, full string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(full)
	if rp == nil {
		return false
	}
	if rp.private && who.anonymous {
		return false
	}
	if who.repos == nil {
		return true
	}
	for _, r := range who.repos {
		if strings.EqualFold(r, rp.fullName()) {
			return true
		}
	}
	return false
}
