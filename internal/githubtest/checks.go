package githubtest

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

var (
	checkStatuses    = map[string]bool{"queued": true, "in_progress": true, "completed": true}
	checkConclusions = map[string]bool{"action_required": true, "cancelled": true, "failure": true, "neutral": true,
		"success": true, "skipped": true, "stale": true, "timed_out": true}
)

// CheckRuns returns the check runs on sha in repo, in creation order.
func (s *Server) CheckRuns(full, sha string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, cr := range s.sortedCheckRuns() {
		if strings.EqualFold(cr.repo, full) && cr.headSHA == sha {
			out = append(out, cr.snapshot())
		}
	}
	return out
}

func (s *Server) sortedCheckRuns() []*checkRun {
	list := make([]*checkRun, 0, len(s.st.checkRuns))
	for _, cr := range s.st.checkRuns {
		list = append(list, cr)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	return list
}

type checkRunInput struct {
	Name        *string    `json:"name"`
	HeadSHA     *string    `json:"head_sha"`
	DetailsURL  *string    `json:"details_url"`
	ExternalID  *string    `json:"external_id"`
	Status      *string    `json:"status"`
	Conclusion  *string    `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Output      *struct {
		Title       *string      `json:"title"`
		Summary     *string      `json:"summary"`
		Text        *string      `json:"text"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
}

// maxAnnotationsPerRequest is GitHub's limit: more go in further updates.
const maxAnnotationsPerRequest = 50

var annotationLevels = map[string]bool{"notice": true, "warning": true, "failure": true}

// apply validates in and writes it into cr; a conclusion completes the run,
// as GitHub does.
func (in *checkRunInput) apply(cr *checkRun) (int, any) {
	if in.Status != nil {
		if !checkStatuses[*in.Status] {
			return invalid("CheckRun", "status", "invalid", "")
		}
		cr.status = *in.Status
	}
	if in.Conclusion != nil {
		if !checkConclusions[*in.Conclusion] {
			return invalid("CheckRun", "conclusion", "invalid", "")
		}
		cr.conclusion, cr.status = *in.Conclusion, "completed"
	}
	if cr.status == "completed" && cr.conclusion == "" {
		return invalid("CheckRun", "conclusion", "missing_field", "conclusion is required when status is completed")
	}
	if in.Name != nil {
		cr.name = *in.Name
	}
	if in.DetailsURL != nil {
		cr.detailsURL = *in.DetailsURL
	}
	if in.ExternalID != nil {
		cr.externalID = *in.ExternalID
	}
	if in.StartedAt != nil {
		cr.started = in.StartedAt.UTC()
	}
	if in.CompletedAt != nil {
		cr.completed = in.CompletedAt.UTC()
	}
	if cr.status == "completed" && cr.completed.IsZero() {
		cr.completed = now()
	}
	if o := in.Output; o != nil {
		if o.Title != nil {
			cr.title = *o.Title
		}
		if o.Summary != nil {
			cr.summary = *o.Summary
		}
		if o.Text != nil {
			cr.text = *o.Text
		}
		if cr.summary == "" {
			return invalid("CheckRun", "output.summary", "missing_field", "")
		}
		if len(o.Annotations) > 0 && (o.Title == nil || o.Summary == nil) {
			return invalid("CheckRun", "output", "missing_field", "title and summary are required with annotations")
		}
		if len(o.Annotations) > maxAnnotationsPerRequest {
			return invalid("CheckRun", "output.annotations", "too_many", "Only 50 annotations may be added per request")
		}
		for _, a := range o.Annotations {
			switch {
			case a.Path == "", a.Message == "":
				return invalid("CheckRun", "output.annotations", "missing_field", "path and message are required")
			case a.StartLine < 1 || a.EndLine < a.StartLine:
				return invalid("CheckRun", "output.annotations", "invalid", "start_line and end_line must be lines of the file")
			case !annotationLevels[a.Level]:
				return invalid("CheckRun", "output.annotations", "invalid", "annotation_level must be notice, warning or failure")
			}
		}
		cr.annotations = append(cr.annotations, o.Annotations...)
	}
	return 0, nil
}

func (s *Server) checkRunJSON(cr *checkRun) map[string]any {
	api := s.api("repos/%s/check-runs/%d", cr.repo, cr.id)
	var conclusion any
	if cr.conclusion != "" {
		conclusion = cr.conclusion
	}
	var app any
	if cr.appID != 0 {
		app = s.appJSON(cr.appID)
	}
	return map[string]any{
		"id":           cr.id,
		"node_id":      nodeID("CR", cr.id),
		"head_sha":     cr.headSHA,
		"external_id":  cr.externalID,
		"url":          api,
		"html_url":     s.url + "/" + cr.repo + "/runs/" + itoa(cr.id),
		"details_url":  nullable(cr.detailsURL),
		"status":       cr.status,
		"conclusion":   conclusion,
		"started_at":   ts(cr.started),
		"completed_at": ts(cr.completed),
		"output": map[string]any{
			"title": nullable(cr.title), "summary": nullable(cr.summary), "text": nullable(cr.text),
			"annotations_count": len(cr.annotations), "annotations_url": api + "/annotations",
		},
		"name":          cr.name,
		"check_suite":   map[string]any{"id": cr.suiteID},
		"app":           app,
		"pull_requests": []any{},
	}
}

// requireApp refuses check-run writes from anything but a GitHub App's
// installation token, as GitHub does; the open mode (no tokens) allows
// them so a quick demo needs no App.
func (c *call) requireApp() (int, any) {
	if c.who.installID != 0 {
		return 0, nil
	}
	c.s.mu.Lock()
	open := len(c.s.st.tokens) == 0
	c.s.mu.Unlock()
	if open {
		return 0, nil
	}
	return http.StatusForbidden, errBody("You must authenticate via a GitHub App.")
}

func (s *Server) createCheckRun(c *call) (int, any) {
	if st, b := c.requireApp(); st != 0 {
		return st, b
	}
	var in checkRunInput
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	if in.Name == nil || *in.Name == "" {
		return invalid("CheckRun", "name", "missing_field", "")
	}
	if in.HeadSHA == nil || *in.HeadSHA == "" {
		return invalid("CheckRun", "head_sha", "missing_field", "")
	}
	full := c.repoName()
	sha := s.resolveRef(full, *in.HeadSHA)
	if sha == "" || !strings.EqualFold(sha, *in.HeadSHA) {
		return http.StatusUnprocessableEntity, errBody("No commit found for SHA: " + *in.HeadSHA)
	}
	cr := &checkRun{headSHA: sha, status: "queued", started: now(), appID: c.who.appID}
	if st, b := in.apply(cr); st != 0 {
		return st, b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cr.repo = s.st.repo(full).fullName()
	cr.id = s.st.id()
	cr.suiteID = s.suiteFor(cr)
	s.st.checkRuns[cr.id] = cr
	return http.StatusCreated, s.checkRunJSON(cr)
}

// suiteFor gives runs of the same app on the same commit one suite id.
func (s *Server) suiteFor(cr *checkRun) int64 {
	for _, o := range s.st.checkRuns {
		if o.repo == cr.repo && o.headSHA == cr.headSHA && o.appID == cr.appID {
			return o.suiteID
		}
	}
	return s.st.id()
}

func (s *Server) checkRunByID(c *call) *checkRun {
	id, ok := c.intParam("id")
	if !ok {
		return nil
	}
	cr := s.st.checkRuns[id]
	if cr == nil || !strings.EqualFold(cr.repo, c.repoName()) {
		return nil
	}
	return cr
}

func (s *Server) updateCheckRun(c *call) (int, any) {
	if st, b := c.requireApp(); st != 0 {
		return st, b
	}
	var in checkRunInput
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cr := s.checkRunByID(c)
	if cr == nil {
		return notFound()
	}
	next := *cr
	if st, b := in.apply(&next); st != 0 {
		return st, b
	}
	*cr = next
	return http.StatusOK, s.checkRunJSON(cr)
}

func (s *Server) getCheckRun(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cr := s.checkRunByID(c)
	if cr == nil {
		return notFound()
	}
	return http.StatusOK, s.checkRunJSON(cr)
}

// listCheckRuns filters by check_name and status; filter=latest (the
// default) keeps the newest run per name.
func (s *Server) listCheckRuns(c *call) (int, any) {
	full := c.repoName()
	sha := s.resolveRef(full, c.param("ref"))
	if sha == "" {
		return http.StatusUnprocessableEntity, errBody("No commit found for SHA: " + c.param("ref"))
	}
	filter := c.query("filter")
	if filter == "" {
		filter = "latest"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.sortedCheckRuns()
	seen := map[string]bool{}
	var list []*checkRun
	for i := len(all) - 1; i >= 0; i-- {
		cr := all[i]
		if !strings.EqualFold(cr.repo, full) || cr.headSHA != sha {
			continue
		}
		if n := c.query("check_name"); n != "" && n != cr.name {
			continue
		}
		if st := c.query("status"); st != "" && st != cr.status {
			continue
		}
		if filter == "latest" {
			if seen[cr.name] {
				continue
			}
			seen[cr.name] = true
		}
		list = append(list, cr)
	}
	lo, hi := c.page(len(list))
	runs := make([]any, 0, hi-lo)
	for _, cr := range list[lo:hi] {
		runs = append(runs, s.checkRunJSON(cr))
	}
	return http.StatusOK, map[string]any{"total_count": len(list), "check_runs": runs}
}
