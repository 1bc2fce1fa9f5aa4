package githubtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The GitHub Actions endpoints a remote executor uses: workflow_dispatch,
// workflow runs and their jobs, cancel; and the workflow_run and
// workflow_job webhooks GitHub sends as a run moves. A test plays the
// runner (OnDispatch, StartWorkflowRun, CompleteWorkflowRun).

// Workflow is a workflow file of a repository.
type Workflow struct {
	Path string // .github/workflows/<file>
	Name string
	// RunName is the workflow's run-name: "${{ inputs.X }}" is replaced by
	// the dispatch's input X. "" names runs by the workflow's name.
	RunName string
	// Disabled workflows refuse dispatches (422), as GitHub does.
	Disabled bool
}

// WorkflowRun is a snapshot of one workflow run.
type WorkflowRun struct {
	ID         int64
	Repo       string
	Workflow   string // path
	Title      string // display_title
	Event      string
	Ref        string
	Status     string // queued, in_progress, completed
	Conclusion string // success, failure, cancelled, ...
	Inputs     map[string]string
	HTMLURL    string
	Created    time.Time
	// Cancelled says cancel was asked through the API.
	Cancelled bool
}

type workflow struct {
	id int64
	Workflow
}

type workflowRun struct {
	WorkflowRun
	wf      *workflow
	headSHA string
	number  int
	updated time.Time
	jobID   int64
	started time.Time
	ended   time.Time
}

// actionsState is the emulator's Actions state, under s.mu.
type actionsState struct {
	workflows  map[string]map[string]*workflow // repo (lower case) -> path -> workflow
	runs       map[int64]*workflowRun
	runN       int
	onDispatch func(WorkflowRun)
	onCancel   func(WorkflowRun)
	hookURL    string
	hookSecret string
	hookEvents map[string]bool
}

// AddWorkflow adds (or replaces) a workflow of repo.
func (s *Server) AddWorkflow(full string, wf Workflow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &s.act
	if a.workflows == nil {
		a.workflows = map[string]map[string]*workflow{}
	}
	key := strings.ToLower(full)
	if a.workflows[key] == nil {
		a.workflows[key] = map[string]*workflow{}
	}
	if !strings.Contains(wf.Path, "/") {
		wf.Path = ".github/workflows/" + wf.Path
	}
	if wf.Name == "" {
		wf.Name = wf.Path
	}
	old := a.workflows[key][wf.Path]
	w := &workflow{id: s.st.id(), Workflow: wf}
	if old != nil {
		w.id = old.id
	}
	a.workflows[key][wf.Path] = w
}

// OnDispatch calls f with each run a dispatch creates, after the API has
// answered the dispatch; OnCancel with each run cancelled through the
// API. The test's runner hangs on them.
func (s *Server) OnDispatch(f func(WorkflowRun)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.act.onDispatch = f
}

// OnCancel: see OnDispatch.
func (s *Server) OnCancel(f func(WorkflowRun)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.act.onCancel = f
}

// SendWebhooks makes the emulator deliver events (workflow_run,
// workflow_job) to url, signed with secret as GitHub signs them.
func (s *Server) SendWebhooks(url, secret string, events ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.act.hookURL, s.act.hookSecret = url, secret
	s.act.hookEvents = map[string]bool{}
	for _, e := range events {
		s.act.hookEvents[e] = true
	}
}

// WorkflowRuns are the workflow runs of repo, oldest first.
func (s *Server) WorkflowRuns(full string) []WorkflowRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []WorkflowRun
	for _, r := range s.sortedRuns(full) {
		out = append(out, r.snapshot())
	}
	return out
}

func (r *workflowRun) snapshot() WorkflowRun {
	c := r.WorkflowRun
	c.Inputs = map[string]string{}
	for k, v := range r.Inputs {
		c.Inputs[k] = v
	}
	return c
}

func (s *Server) sortedRuns(full string) []*workflowRun {
	var out []*workflowRun
	for _, r := range s.act.runs {
		if strings.EqualFold(r.Repo, full) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// StartWorkflowRun marks a run's job in progress, as a runner picking it
// up does, and sends the webhooks. It reports false for a run that is
// over (cancelled before a runner took it).
func (s *Server) StartWorkflowRun(id int64) bool {
	s.mu.Lock()
	r := s.act.runs[id]
	if r == nil || r.Status == "completed" {
		s.mu.Unlock()
		return false
	}
	r.Status, r.started, r.updated = "in_progress", time.Now().UTC(), time.Now().UTC()
	hooks := s.runHooks(r, "in_progress")
	s.mu.Unlock()
	s.deliver(hooks)
	return true
}

// CompleteWorkflowRun ends a run with conclusion and sends the webhooks;
// a run already over keeps its end.
func (s *Server) CompleteWorkflowRun(id int64, conclusion string) {
	s.mu.Lock()
	r := s.act.runs[id]
	if r == nil || r.Status == "completed" {
		s.mu.Unlock()
		return
	}
	s.completeRun(r, conclusion)
	hooks := s.runHooks(r, "completed")
	s.mu.Unlock()
	s.deliver(hooks)
}

func (s *Server) completeRun(r *workflowRun, conclusion string) {
	r.Status, r.Conclusion, r.ended, r.updated = "completed", conclusion, time.Now().UTC(), time.Now().UTC()
}

var inputRef = regexp.MustCompile(`\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}`)

// findWorkflow finds a workflow by its id or file name. The caller holds s.mu.
func (s *Server) findWorkflow(full, id string) *workflow {
	for _, w := range s.act.workflows[strings.ToLower(full)] {
		if strconv.FormatInt(w.id, 10) == id || strings.TrimPrefix(w.Path, ".github/workflows/") == id {
			return w
		}
	}
	return nil
}

func (s *Server) dispatchWorkflow(c *call) (int, any) {
	var in struct {
		Ref              string         `json:"ref"`
		Inputs           map[string]any `json:"inputs"`
		ReturnRunDetails bool           `json:"return_run_details"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	full := c.repoName()
	if in.Ref == "" {
		return invalid("CreateWorkflowDispatch", "ref", "missing_field", "")
	}
	ref := in.Ref
	if !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	head := s.resolveRef(full, ref)
	if head == "" {
		return http.StatusUnprocessableEntity, errBody("No ref found for: " + in.Ref)
	}
	if len(in.Inputs) > 25 {
		return http.StatusUnprocessableEntity, errBody("you may only define up to 25 `inputs` for a `workflow_dispatch` event")
	}
	s.mu.Lock()
	w := s.findWorkflow(full, c.param("workflow"))
	if w == nil {
		s.mu.Unlock()
		return notFound()
	}
	if w.Disabled {
		s.mu.Unlock()
		return http.StatusUnprocessableEntity, errBody("Cannot trigger a 'workflow_dispatch' on a disabled workflow")
	}
	inputs := map[string]string{}
	for k, v := range in.Inputs {
		inputs[k] = fmt.Sprint(v)
	}
	title := w.Name
	if w.RunName != "" {
		title = inputRef.ReplaceAllStringFunc(w.RunName, func(m string) string {
			return inputs[inputRef.FindStringSubmatch(m)[1]]
		})
	}
	a := &s.act
	if a.runs == nil {
		a.runs = map[int64]*workflowRun{}
	}
	a.runN++
	id := s.st.id()
	t := time.Now().UTC()
	r := &workflowRun{WorkflowRun: WorkflowRun{ID: id, Repo: full, Workflow: w.Path, Title: title, Event: "workflow_dispatch",
		Ref: strings.TrimPrefix(in.Ref, "refs/heads/"), Status: "queued", Inputs: inputs,
		HTMLURL: fmt.Sprintf("%s/%s/actions/runs/%d", s.url, full, id), Created: t}, wf: w, headSHA: head, number: a.runN, updated: t, jobID: s.st.id()}
	a.runs[id] = r
	hooks := s.runHooks(r, "requested")
	snap, onDispatch := r.snapshot(), a.onDispatch
	var body any
	status := http.StatusNoContent
	if in.ReturnRunDetails {
		status = http.StatusOK
		body = map[string]any{"workflow_run_id": id, "run_url": s.api("repos/%s/actions/runs/%d", full, id), "html_url": r.HTMLURL}
	}
	s.mu.Unlock()
	s.deliver(hooks)
	if onDispatch != nil {
		onDispatch(snap)
	}
	return status, body
}

// runJSON is GitHub's workflow-run. The caller holds s.mu.
func (s *Server) runJSON(r *workflowRun) map[string]any {
	rp := s.st.repo(r.Repo)
	out := map[string]any{
		"id": r.ID, "name": r.wf.Name, "node_id": nodeID("WFR", r.ID), "head_branch": r.Ref, "head_sha": r.headSHA,
		"path": r.wf.Path, "display_title": r.Title, "run_number": r.number, "event": r.Event, "status": r.Status,
		"conclusion": nullable(r.Conclusion), "workflow_id": r.wf.id, "url": s.api("repos/%s/actions/runs/%d", r.Repo, r.ID),
		"html_url": r.HTMLURL, "created_at": ts(r.Created), "updated_at": ts(r.updated), "run_attempt": 1,
		"run_started_at": ts(r.Created), "jobs_url": s.api("repos/%s/actions/runs/%d/jobs", r.Repo, r.ID),
		"cancel_url": s.api("repos/%s/actions/runs/%d/cancel", r.Repo, r.ID),
	}
	if rp != nil {
		out["repository"] = s.repoJSON(rp, false, nil)
	}
	return out
}

// resolveRefLocked is resolveRef for a caller holding s.mu; resolveRef
// takes only gitMu.
func (s *Server) resolveRefLocked(full, ref string) string {
	return s.resolveRef(full, "refs/heads/"+ref)
}

func (s *Server) jobJSON(r *workflowRun) map[string]any {
	status, conclusion := r.Status, r.Conclusion
	return map[string]any{
		"id": r.jobID, "run_id": r.ID, "run_url": s.api("repos/%s/actions/runs/%d", r.Repo, r.ID), "node_id": nodeID("CR", r.jobID),
		"head_branch": r.Ref, "name": "run", "workflow_name": r.wf.Name, "status": status, "conclusion": nullable(conclusion),
		"created_at": ts(r.Created), "started_at": ts(r.started), "completed_at": ts(r.ended),
		"html_url": fmt.Sprintf("%s/job/%d", r.HTMLURL, r.jobID), "labels": []string{"ubuntu-latest"}, "run_attempt": 1,
	}
}

func (s *Server) listWorkflowRuns(c *call) (int, any) {
	full := c.repoName()
	event, status := c.query("event"), c.query("status")
	var after time.Time
	if cr := c.query("created"); cr != "" {
		t, err := time.Parse(time.RFC3339, strings.TrimPrefix(cr, ">="))
		if err != nil {
			return invalid("WorkflowRun", "created", "invalid", "")
		}
		after = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*workflowRun
	runs := s.sortedRuns(full)
	for i := len(runs) - 1; i >= 0; i-- { // newest first, as GitHub lists them
		r := runs[i]
		if (event == "" || r.Event == event) && (status == "" || r.Status == status || r.Conclusion == status) && !r.Created.Before(after.Truncate(time.Second)) {
			if wf := c.param("workflow"); wf != "" && (r.wf == nil || s.findWorkflow(full, wf) != r.wf) {
				continue
			}
			list = append(list, r)
		}
	}
	lo, hi := c.page(len(list))
	out := make([]any, 0, hi-lo)
	for _, r := range list[lo:hi] {
		out = append(out, s.runJSON(r))
	}
	return http.StatusOK, map[string]any{"total_count": len(list), "workflow_runs": out}
}

func (s *Server) runOf(c *call) *workflowRun {
	id, ok := c.intParam("id")
	if !ok {
		return nil
	}
	r := s.act.runs[id]
	if r == nil || !strings.EqualFold(r.Repo, c.repoName()) {
		return nil
	}
	return r
}

func (s *Server) getWorkflowRun(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.runOf(c)
	if r == nil {
		return notFound()
	}
	return http.StatusOK, s.runJSON(r)
}

func (s *Server) listWorkflowJobs(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.runOf(c)
	if r == nil {
		return notFound()
	}
	return http.StatusOK, map[string]any{"total_count": 1, "jobs": []any{s.jobJSON(r)}}
}

func (s *Server) cancelWorkflowRun(c *call) (int, any) {
	s.mu.Lock()
	r := s.runOf(c)
	if r == nil {
		s.mu.Unlock()
		return notFound()
	}
	if r.Status == "completed" {
		s.mu.Unlock()
		return http.StatusConflict, errBody("Cannot cancel a workflow run that is completed.")
	}
	r.Cancelled = true
	s.completeRun(r, "cancelled")
	hooks := s.runHooks(r, "completed")
	snap, onCancel := r.snapshot(), s.act.onCancel
	s.mu.Unlock()
	s.deliver(hooks)
	if onCancel != nil {
		onCancel(snap)
	}
	return http.StatusAccepted, map[string]any{}
}

// hook is one webhook delivery to send.
type hook struct {
	url, secret, event string
	body               []byte
}

// runHooks are the deliveries a run's move to action makes: workflow_run,
// and workflow_job for the job's moves. The caller holds s.mu.
func (s *Server) runHooks(r *workflowRun, action string) []hook {
	a := &s.act
	if a.hookURL == "" {
		return nil
	}
	rp := s.st.repo(r.Repo)
	var repoJSON any
	if rp != nil {
		repoJSON = s.repoJSON(rp, false, nil)
	}
	var out []hook
	if a.hookEvents["workflow_run"] {
		body, _ := json.Marshal(map[string]any{"action": action, "workflow_run": s.runJSON(r),
			"workflow":   map[string]any{"id": r.wf.id, "name": r.wf.Name, "path": r.wf.Path, "state": "active"},
			"repository": repoJSON, "sender": s.userJSON("workspace-bot")})
		out = append(out, hook{a.hookURL, a.hookSecret, "workflow_run", body})
	}
	if a.hookEvents["workflow_job"] {
		jobAction := map[string]string{"requested": "queued", "in_progress": "in_progress", "completed": "completed"}[action]
		body, _ := json.Marshal(map[string]any{"action": jobAction, "workflow_job": s.jobJSON(r), "repository": repoJSON, "sender": s.userJSON("workspace-bot")})
		out = append(out, hook{a.hookURL, a.hookSecret, "workflow_job", body})
	}
	return out
}

// deliver posts hooks in order, signed as GitHub signs them. A delivery
// that fails is dropped, as GitHub drops one it cannot deliver (it can
// be redelivered by hand): the service must not depend on every one.
func (s *Server) deliver(hooks []hook) {
	for _, h := range hooks {
		mac := hmac.New(sha256.New, []byte(h.secret))
		mac.Write(h.body)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(h.body))
		if err != nil {
			cancel()
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", h.event)
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("emu-%d-%s", time.Now().UnixNano(), h.event))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		cancel()
	}
}
