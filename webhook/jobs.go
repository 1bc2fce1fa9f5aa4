package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/internal/logging"
)

// Jobs answers the jobs that build runs on another machine (bot.Queue):
// each is authenticated by its run's one-time token.
type Jobs interface {
	// JobPlan is what run id's job builds, as JSON; workflowRun is the
	// GitHub Actions run it says it runs in (0 when it does not say).
	JobPlan(ctx context.Context, id int64, token string, workflowRun int64) ([]byte, error)
	// JobResult takes the outcome the job posted.
	JobResult(ctx context.Context, id int64, token string, body []byte) error
}

// The headers a job sends: its workflow run, beside the token in
// Authorization.
const (
	HeaderWorkflowRun = "X-Workspace-Bot-Workflow-Run"
	// MaxJobBody bounds POST /runs/{id}/result before the token is
	// checked: an unauthenticated client holds at most this much.
	MaxJobBody = 4 << 20
)

// jobRequest reads the run id and the bearer token of a job's request;
// ok is false once it answered.
func jobRequest(w http.ResponseWriter, r *http.Request) (id int64, token string, ok bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "run id must be a positive number", http.StatusBadRequest)
		return 0, "", false
	}
	token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="workspace-bot run"`)
		http.Error(w, "missing run token: send Authorization: Bearer <the token the run was dispatched with>", http.StatusUnauthorized)
		return 0, "", false
	}
	return id, token, true
}

// jobError answers err: a refusal with its own status and reason,
// anything else as the service's fault, without its details.
func (h *Handler) jobError(w http.ResponseWriter, id int64, err error) {
	var refusal interface{ HTTPStatus() int }
	if errors.As(err, &refusal) {
		h.log.WithField(logging.Run, id).WithError(err).Warn("a job's request was refused")
		http.Error(w, err.Error(), refusal.HTTPStatus())
		return
	}
	h.log.WithField(logging.Run, id).WithError(err).Error("a job's request failed")
	http.Error(w, "the service could not answer; try again", http.StatusServiceUnavailable)
}

func (h *Handler) serveJobPlan(w http.ResponseWriter, r *http.Request) {
	id, token, ok := jobRequest(w, r)
	if !ok {
		return
	}
	wr, _ := strconv.ParseInt(r.Header.Get(HeaderWorkflowRun), 10, 64)
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	plan, err := h.jobs.JobPlan(ctx, id, token, wr)
	if err != nil {
		h.jobError(w, id, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(plan) //nolint:errcheck // the job went away; it asks again
}

func (h *Handler) serveJobResult(w http.ResponseWriter, r *http.Request) {
	id, token, ok := jobRequest(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxJobBody+1))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || len(body) > MaxJobBody {
		http.Error(w, "the result is over "+strconv.Itoa(MaxJobBody)+" bytes: send the tail of the log only", http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		http.Error(w, "reading the body failed", http.StatusBadRequest)
		return
	}
	// Finishing the run sends its reports: give it the time that takes,
	// whether or not the job waits.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
	defer cancel()
	if err := h.jobs.JobResult(ctx, id, token, body); err != nil {
		h.jobError(w, id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
