package githubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const docsURL = "https://docs.github.com/rest"

// route is one REST endpoint. Pattern segments in braces match one path
// segment; a segment ending in "+}" matches one or more, for git refs that
// contain slashes (feature/x) and content paths.
type route struct {
	method  string
	pattern string
	segs    []string
	h       func(c *call) (int, any)
	app     bool // authenticated by the App's JWT rather than a token
	free    bool // costs no rate limit, like GET /rate_limit
	// public routes ignore credentials, like the App manifest conversion.
	public bool
	// perm is what an installation token needs (routePermissions).
	perm string
}

// call is one API request on its way through the middleware.
type call struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	params map[string]string
	who    *identity
	header http.Header // extra response headers (Link)
}

func (c *call) param(name string) string { return c.params[name] }

// repoName is the {owner}/{repo} of the path as the caller spelled it.
func (c *call) repoName() string { return c.params["owner"] + "/" + c.params["repo"] }

func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

// decode reads a JSON body into v; a malformed body is GitHub's 400.
func (c *call) decode(v any) (int, any) {
	if err := json.NewDecoder(c.r.Body).Decode(v); err != nil {
		return http.StatusBadRequest, errBody("Problems parsing JSON")
	}
	return 0, nil
}

func (s *Server) addRoute(rs *[]route, method, pattern string, h func(c *call) (int, any)) *route {
	*rs = append(*rs, route{method: method, pattern: pattern, segs: strings.Split(strings.Trim(pattern, "/"), "/"), h: h})
	return &(*rs)[len(*rs)-1]
}

func (s *Server) apiRoutes() []route {
	var rs []route
	add := func(m, p string, h func(c *call) (int, any)) *route { return s.addRoute(&rs, m, p, h) }
	add("GET", "/rate_limit", s.getRateLimit).free = true
	add("GET", "/user", s.getUser)
	add("GET", "/repos/{owner}/{repo}", s.getRepo)
	add("GET", "/repos/{owner}/{repo}/pulls", s.listPulls)
	add("GET", "/repos/{owner}/{repo}/pulls/{number}", s.getPull)
	add("PATCH", "/repos/{owner}/{repo}/pulls/{number}", s.editPull)
	add("POST", "/repos/{owner}/{repo}/pulls", s.createPull)
	add("PUT", "/repos/{owner}/{repo}/pulls/{number}/merge", s.mergePull)
	add("GET", "/repos/{owner}/{repo}/pulls/{number}/reviews", s.listReviews)
	add("GET", "/repos/{owner}/{repo}/pulls/{number}/files", s.listPullFiles)
	add("GET", "/repos/{owner}/{repo}/rules/branches/{branch+}", s.branchRules)
	add("GET", "/repos/{owner}/{repo}/branches/{branch+}", s.getBranch)
	add("GET", "/repos/{owner}/{repo}/git/commits/{sha}", s.getGitCommit)
	add("GET", "/repos/{owner}/{repo}/git/trees/{sha}", s.getGitTree)
	add("GET", "/repos/{owner}/{repo}/git/ref/{ref+}", s.getGitRef)
	add("POST", "/repos/{owner}/{repo}/git/refs", s.createGitRef)
	add("POST", "/repos/{owner}/{repo}/git/commits", s.createGitCommit)
	add("POST", "/repos/{owner}/{repo}/releases", s.createRelease)
	add("GET", "/repos/{owner}/{repo}/releases/tags/{tag+}", s.getReleaseByTag)
	add("POST", "/repos/{owner}/{repo}/statuses/{sha}", s.createStatus)
	add("GET", "/repos/{owner}/{repo}/commits/{ref+}/statuses", s.listStatuses)
	add("GET", "/repos/{owner}/{repo}/commits/{ref+}/status", s.combinedStatus)
	add("GET", "/repos/{owner}/{repo}/commits/{ref+}/check-runs", s.listCheckRuns)
	add("POST", "/repos/{owner}/{repo}/check-runs", s.createCheckRun)
	add("PATCH", "/repos/{owner}/{repo}/check-runs/{id}", s.updateCheckRun)
	add("GET", "/repos/{owner}/{repo}/check-runs/{id}", s.getCheckRun)
	add("GET", "/repos/{owner}/{repo}/issues/comments/{id}", s.getComment)
	add("PATCH", "/repos/{owner}/{repo}/issues/comments/{id}", s.editComment)
	add("POST", "/repos/{owner}/{repo}/issues/comments/{id}/reactions", s.createReaction)
	add("GET", "/repos/{owner}/{repo}/issues/comments/{id}/reactions", s.listReactions)
	add("GET", "/repos/{owner}/{repo}/issues/{number}/comments", s.listComments)
	add("POST", "/repos/{owner}/{repo}/issues/{number}/comments", s.createComment)
	add("GET", "/repos/{owner}/{repo}/contents/{path+}", s.getContents)
	add("GET", "/repos/{owner}/{repo}/collaborators/{user}/permission", s.getPermission)
	add("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", s.dispatchWorkflow)
	add("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow}/runs", s.listWorkflowRuns)
	add("GET", "/repos/{owner}/{repo}/actions/runs", s.listWorkflowRuns)
	add("GET", "/repos/{owner}/{repo}/actions/runs/{id}", s.getWorkflowRun)
	add("GET", "/repos/{owner}/{repo}/actions/runs/{id}/jobs", s.listWorkflowJobs)
	add("POST", "/repos/{owner}/{repo}/actions/runs/{id}/cancel", s.cancelWorkflowRun)
	add("GET", "/repos/{owner}/{repo}/installation", s.getRepoInstallation).app = true
	add("POST", "/app/installations/{id}/access_tokens", s.createInstallationToken).app = true
	add("GET", "/app", s.getApp).app = true
	add("POST", "/app-manifests/{code}/conversions", s.convertManifest).public = true
	return rs
}

// match finds the route for method and path (below /api/v3). It returns
// the route, its parameters, and whether the path matched some route under
// another method (a 405 rather than a 404).
func (s *Server) match(method, escapedPath string) (*route, map[string]string, bool) {
	raw := strings.Split(strings.Trim(escapedPath, "/"), "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		u, err := url.PathUnescape(r)
		if err != nil {
			return nil, nil, false
		}
		segs[i] = u
	}
	otherMethod := false
	for i := range s.routes {
		rt := &s.routes[i]
		params := map[string]string{}
		if !matchSegs(rt.segs, segs, params) {
			continue
		}
		if rt.method != method {
			otherMethod = true
			continue
		}
		return rt, params, false
	}
	return nil, nil, otherMethod
}

func matchSegs(pat, path []string, params map[string]string) bool {
	if len(pat) == 0 {
		return len(path) == 0
	}
	p := pat[0]
	if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
		name := p[1 : len(p)-2]
		// Greedy from the longest, so a ref may itself contain a segment
		// that looks like the suffix.
		for n := len(path) - len(pat) + 1; n >= 1; n-- {
			if matchSegs(pat[1:], path[n:], params) {
				params[name] = strings.Join(path[:n], "/")
				return true
			}
		}
		return false
	}
	if len(path) == 0 || path[0] == "" {
		return false
	}
	if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
		params[p[1:len(p)-1]] = path[0]
	} else if p != path[0] {
		return false
	}
	return matchSegs(pat[1:], path[1:], params)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/api/v3")
	rt, params, otherMethod := s.match(r.Method, path)
	routeName := r.Method + " unmatched"
	if rt != nil {
		routeName = rt.method + " " + strings.ReplaceAll(rt.pattern, "+}", "}")
	}
	hooked := s.runHook(r, path)
	s.mu.Lock()
	s.st.stats.Requests++
	s.st.stats.ByRoute[routeName]++
	s.st.requestN++
	reqID := fmt.Sprintf("0000:%04X:%06X", s.st.requestN%0xffff, s.st.requestN)
	f := hooked
	if f == nil {
		f = s.takeFault(r.Method, path)
	}
	s.mu.Unlock()

	h := w.Header()
	h.Set("X-GitHub-Request-Id", reqID)
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")

	if f != nil && !f.After {
		s.writeFault(w, r, f)
		return
	}
	if rt == nil {
		if otherMethod {
			writeJSON(w, r, http.StatusMethodNotAllowed, errBody("Method Not Allowed"))
			return
		}
		writeJSON(w, r, http.StatusNotFound, notFoundBody())
		return
	}

	who, status, body := s.authenticate(r, rt.app)
	if rt.public {
		who, status = &identity{login: OpenLogin, key: "anonymous", anonymous: true}, 0
	}
	if status != 0 {
		writeJSON(w, r, status, body)
		return
	}
	h.Set("Vary", "Accept, Authorization, Cookie")
	if who.anonymous {
		h.Set("Cache-Control", "public, max-age=60, s-maxage=60")
	} else {
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
	}

	if !rt.free && s.rateExhausted(who) {
		s.setRateHeaders(h, who)
		writeJSON(w, r, http.StatusForbidden, map[string]any{
			"message":           fmt.Sprintf("API rate limit exceeded for %s.", who.rateSubject()),
			"documentation_url": docsURL + "/overview/rate-limits-for-the-rest-api#about-rate-limits",
		})
		return
	}

	c := &call{s: s, w: w, r: r, params: params, who: who, header: http.Header{}}
	if _, ok := params["repo"]; ok && !rt.app {
		if !s.visible(who, c.repoName()) {
			s.charge(who, rt.free)
			s.setRateHeaders(h, who)
			writeJSON(w, r, http.StatusNotFound, notFoundBody())
			return
		}
	}
	s.mu.Lock()
	ok, needs := s.allowed(who, rt.perm)
	s.mu.Unlock()
	if ok {
		status, body = rt.h(c)
	} else {
		status, body = forbiddenByPermissions(needs)
	}
	if f != nil {
		s.writeFault(w, r, f)
		return
	}
	for k, v := range c.header {
		h[k] = v
	}

	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			status, data = http.StatusInternalServerError, []byte(`{"message":"Server Error"}`)
		}
	}
	if r.Method == http.MethodGet && status == http.StatusOK {
		sum := sha256.Sum256(data)
		etag := `"` + hex.EncodeToString(sum[:]) + `"`
		h.Set("ETag", etag)
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			// A conditional request answered 304 costs no rate limit.
			s.mu.Lock()
			s.st.stats.NotModified++
			s.mu.Unlock()
			s.setRateHeaders(h, who)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	s.charge(who, rt.free)
	s.setRateHeaders(h, who)
	if data == nil {
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data) //nolint:errcheck // the client went away
}

func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, body any) {
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(data) //nolint:errcheck // the client went away
	}
}

func notFoundBody() map[string]any {
	return map[string]any{"message": "Not Found", "documentation_url": docsURL}
}

func notFound() (int, any) { return http.StatusNotFound, notFoundBody() }

func errBody(msg string) map[string]any {
	return map[string]any{"message": msg, "documentation_url": docsURL}
}

// invalid is GitHub's 422 Validation Failed with one error.
func invalid(resource, field, code, msg string) (int, any) {
	e := map[string]any{"resource": resource, "field": field, "code": code}
	if msg != "" {
		e["message"] = msg
	}
	return http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []any{e},
		"documentation_url": docsURL,
	}
}

// page applies per_page/page to n items, sets the Link header the way
// GitHub does (next/last, then first/prev when not on the first page) and
// returns the slice bounds.
func (c *call) page(n int) (lo, hi int) {
	q := c.r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	if per > 100 {
		per = 100
	}
	pg, _ := strconv.Atoi(q.Get("page"))
	if pg <= 0 {
		pg = 1
	}
	last := (n + per - 1) / per
	if last == 0 {
		last = 1
	}
	link := func(p int, rel string) string {
		q2 := c.r.URL.Query()
		q2.Set("page", strconv.Itoa(p))
		q2.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf("<%s%s?%s>; rel=%q", c.s.url, c.r.URL.EscapedPath(), q2.Encode(), rel)
	}
	var links []string
	if pg < last {
		links = append(links, link(pg+1, "next"), link(last, "last"))
	}
	if pg > 1 {
		links = append(links, link(1, "first"), link(min(pg-1, last), "prev"))
	}
	if len(links) > 0 {
		c.header.Set("Link", strings.Join(links, ", "))
	}
	lo = min((pg-1)*per, n)
	hi = min(lo+per, n)
	return lo, hi
}

func (c *call) intParam(name string) (int64, bool) {
	v, err := strconv.ParseInt(c.param(name), 10, 64)
	return v, err == nil && v > 0
}
