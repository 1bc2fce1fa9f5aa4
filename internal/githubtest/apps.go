package githubtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type app struct {
	id   int64
	slug string
	key  *rsa.PublicKey
	// perms, when set, are the App's permissions, enforced on its
	// installation tokens; used records what they were used for.
	perms, used map[string]string
	// Set for an App made from a manifest.
	name, owner, hookURL, webhookSecret string
	public                              bool
	events                              []string
}

type installation struct {
	id      int64
	appID   int64
	account string
	repos   []string // nil: every repository of the account
	// workflows: the installation may change .github/workflows.
	workflows bool
}

// Installation is a GitHub App installation.
type Installation struct {
	ID      int64
	AppID   int64
	Account string   // the owner it is installed on
	Repos   []string // owner/name; nil for all the account's repositories
	// Workflows grants the workflows permission (write): without it the
	// installation cannot merge a change to .github/workflows.
	Workflows bool
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// AddApp registers an App whose JWTs must verify against key; its bot
// user is slug+"[bot]". While no App is registered any well-formed RS256
// JWT is accepted and the App is called "app<ID>".
func (s *Server) AddApp(appID int64, slug string, key *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.apps[appID]
	if a == nil {
		a = &app{id: appID}
		s.st.apps[appID] = a
	}
	a.slug, a.key = slug, key
}

// AddInstallation registers an installation. While none is registered,
// every installation id is accepted and covers every repository, and
// GET /repos/{owner}/{repo}/installation answers id 1.
func (s *Server) AddInstallation(in Installation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.installs[in.ID] = &installation{id: in.ID, appID: in.AppID, account: in.Account, repos: append([]string(nil), in.Repos...), workflows: in.Workflows}
}

// appFor returns the registered App or a stand-in; the caller holds s.mu.
func (s *Server) appFor(id int64) *app {
	if a := s.st.apps[id]; a != nil {
		return a
	}
	return &app{id: id, slug: "app" + itoa(id)}
}

func (s *Server) appJSON(id int64) map[string]any {
	a := s.appFor(id)
	perms := map[string]string{"checks": "write", "contents": "read", "issues": "write", "metadata": "read",
		"pull_requests": "write", "statuses": "write"}
	if a.perms != nil {
		perms = map[string]string{}
		for k, v := range a.perms {
			perms[k] = v
		}
	}
	events := []string{"check_run", "issue_comment", "pull_request"}
	if a.events != nil {
		events = append([]string(nil), a.events...)
	}
	name := a.slug
	if a.name != "" {
		name = a.name
	}
	var owner any
	if a.owner != "" {
		owner = s.userJSON(a.owner)
	}
	return map[string]any{
		"id": a.id, "slug": a.slug, "node_id": nodeID("A", a.id), "name": name,
		"owner": owner, "description": "", "external_url": s.url, "html_url": s.url + "/apps/" + a.slug,
		"created_at": ts(time.Unix(0, 0)), "updated_at": ts(time.Unix(0, 0)),
		"permissions": perms, "events": events,
	}
}

// appJSONFor is the performed_via_github_app of a bot's comment; the
// caller holds s.mu.
func (s *Server) appJSONFor(login string) any {
	slug := strings.TrimSuffix(login, "[bot]")
	for _, a := range s.st.apps {
		if a.slug == slug {
			return s.appJSON(a.id)
		}
	}
	return nil
}

// authenticateJWT checks an App JWT the way GitHub does: RS256, iss the
// App id, exp in the future and at most ten minutes after iat, and the
// signature when the App's key is registered.
func (s *Server) authenticateJWT(token string) (*identity, int, any) {
	bad := func(msg string) (*identity, int, any) { return nil, http.StatusUnauthorized, errBody(msg) }
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return bad("A JSON web token could not be decoded")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Iat int64           `json:"iat"`
		Exp int64           `json:"exp"`
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return bad("A JSON web token could not be decoded")
	}
	if header.Alg != "RS256" {
		return bad("A JSON web token could not be decoded")
	}
	appID, err := strconv.ParseInt(strings.Trim(string(claims.Iss), `"`), 10, 64)
	if err != nil || appID <= 0 {
		return bad("'Issuer' claim ('iss') must be an Integer")
	}
	nowUnix := time.Now().Unix()
	if claims.Exp <= nowUnix {
		return bad("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	}
	if claims.Exp > nowUnix+660 {
		return bad("'Expiration time' claim ('exp') is too far in the future")
	}
	if claims.Iat == 0 || claims.Iat > nowUnix+60 {
		return bad("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
	}
	s.mu.Lock()
	a, registered := s.st.apps[appID]
	anyApps := len(s.st.apps) > 0
	s.mu.Unlock()
	if anyApps && !registered {
		return bad("Integration not found")
	}
	if registered && a.key != nil {
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if rsa.VerifyPKCS1v15(a.key, crypto.SHA256, sum[:], sig) != nil {
			return bad("A JSON web token could not be decoded")
		}
	}
	return &identity{login: s.appLogin(appID), key: "app:" + itoa(appID), appID: appID, jwt: true}, 0, nil
}

func (s *Server) appLogin(appID int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appFor(appID).slug + "[bot]"
}

// installationFor returns the installation by id, or a stand-in covering
// everything while none is registered; the caller holds s.mu.
func (s *Server) installationFor(id, appID int64) *installation {
	if len(s.st.installs) == 0 {
		return &installation{id: id, appID: appID}
	}
	in := s.st.installs[id]
	if in == nil || in.appID != appID {
		return nil
	}
	return in
}

func (s *Server) installationJSON(in *installation) map[string]any {
	selection := "all"
	if in.repos != nil {
		selection = "selected"
	}
	var account any
	if in.account != "" {
		account = s.userJSON(in.account)
	}
	a := s.appJSON(in.appID)
	return map[string]any{
		"id": in.id, "account": account, "app_id": in.appID, "app_slug": a["slug"],
		"target_type": "User", "repository_selection": selection,
		"access_tokens_url": s.api("app/installations/%d/access_tokens", in.id),
		"repositories_url":  s.api("installation/repositories"),
		"html_url":          s.url + "/settings/installations/" + itoa(in.id),
		"permissions":       a["permissions"], "events": a["events"],
		"created_at": ts(time.Unix(0, 0)), "updated_at": ts(time.Unix(0, 0)),
	}
}

// getRepoInstallation finds the App's installation that covers the
// repository; 404 when none does.
func (s *Server) getRepoInstallation(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(c.repoName())
	if rp == nil {
		return notFound()
	}
	if len(s.st.installs) == 0 {
		return http.StatusOK, s.installationJSON(&installation{id: 1, appID: c.who.appID, account: rp.owner})
	}
	for _, in := range s.st.installs {
		if in.appID == c.who.appID && in.covers(rp) {
			return http.StatusOK, s.installationJSON(in)
		}
	}
	return notFound()
}

func (in *installation) covers(rp *repo) bool {
	if in.account != "" && !strings.EqualFold(in.account, rp.owner) {
		return false
	}
	if in.repos == nil {
		return true
	}
	for _, r := range in.repos {
		if strings.EqualFold(r, rp.fullName()) {
			return true
		}
	}
	return false
}

// createInstallationToken issues a ghs_ token valid for an hour, scoped to
// the installation's repositories, narrowed by the request's
// "repositories" (names without owner) when given.
func (s *Server) createInstallationToken(c *call) (int, any) {
	id, ok := c.intParam("id")
	var in struct {
		Repositories []string `json:"repositories"`
	}
	if c.r.ContentLength != 0 {
		if st, b := c.decode(&in); st != 0 {
			return st, b
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.installationFor(id, c.who.appID)
	if !ok || inst == nil {
		return notFound()
	}
	// repos stays nil for an installation on every repository, which the
	// token then sees all of.
	var repos []string
	if inst.repos != nil || inst.account != "" {
		repos = []string{}
		for _, rp := range s.st.repos {
			if inst.covers(rp) {
				repos = append(repos, rp.fullName())
			}
		}
	}
	if len(in.Repositories) > 0 {
		var narrowed []string
		for _, name := range in.Repositories {
			found := false
			for _, rp := range s.st.repos {
				if strings.EqualFold(rp.name, name) && inst.covers(rp) {
					narrowed, found = append(narrowed, rp.fullName()), true
				}
			}
			if !found {
				return invalid("Installation", "repositories", "invalid", "There is at least one repository that does not exist or is not accessible to the parent installation.")
			}
		}
		repos = narrowed
	}
	buf := make([]byte, 18)
	rand.Read(buf) //nolint:errcheck // crypto/rand does not fail
	token := "ghs_" + hex.EncodeToString(buf)
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	a := s.appFor(c.who.appID)
	s.st.tokens[token] = &tokenEntry{Token: Token{Login: a.slug + "[bot]", Repos: repos}, installID: inst.id, appID: a.id, expires: expires}
	selection := "all"
	perms := map[string]string{}
	for k, v := range s.appJSON(a.id)["permissions"].(map[string]string) {
		perms[k] = v
	}
	if inst.workflows && a.perms == nil {
		perms["workflows"] = "write"
	}
	body := map[string]any{"token": token, "expires_at": ts(expires), "permissions": perms}
	if repos != nil {
		selection = "selected"
		list := []any{}
		for _, r := range repos {
			if rp := s.st.repo(r); rp != nil {
				list = append(list, s.repoJSON(rp, false, nil))
			}
		}
		body["repositories"] = list
	}
	body["repository_selection"] = selection
	return http.StatusCreated, body
}

func (s *Server) getApp(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusOK, s.appJSON(c.who.appID)
}

// SignJWT makes an App JWT (RS256, iat a minute back, exp nine minutes
// ahead) as an App would, for tests and the demo.
func SignJWT(appID int64, key *rsa.PrivateKey) (string, error) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	t := time.Now().Unix()
	claims := enc.EncodeToString([]byte(fmt.Sprintf(`{"iat":%d,"exp":%d,"iss":"%d"}`, t-60, t+540, appID)))
	sum := sha256.Sum256([]byte(header + "." + claims))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("githubtest: sign App %d JWT: %w", appID, err)
	}
	return header + "." + claims + "." + enc.EncodeToString(sig), nil
}
