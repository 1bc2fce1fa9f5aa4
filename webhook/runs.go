package webhook

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
)

//go:embed run.html.tmpl
var runPageText string

var runPage = template.Must(template.New("run").Funcs(template.FuncMap{
	"ms":    func(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() },
	"short": shortSHA,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}).Parse(runPageText))

// changesetView is what a run page reads from a run's changeset JSON. It
// accepts the bot's encoding of changeset.Changeset ({"Members": [{"PR":
// {"Repo", "Number", "HeadSHA", "BaseRef", "URL", "Title"}, "Sibling"}]})
// as well as a flat {"members": [{"repo", "number", "sha", "base", "url",
// "sibling"}]}, so the page needs no import of the bot.
type changesetView struct {
	Key     string       `json:"key"`
	Members []memberView `json:"members"`
}

type memberView struct {
	Repo    string    `json:"repo"`
	Number  int       `json:"number"`
	SHA     string    `json:"sha"`
	Base    string    `json:"base"`
	URL     string    `json:"url"`
	Sibling string    `json:"sibling"`
	Title   string    `json:"title"`
	Links   []string  `json:"links"`
	PR      *prFields `json:"pr"`
}

type prFields struct {
	Repo    string
	Number  int
	HeadSHA string
	BaseRef string
	URL     string
	Title   string
}

func decodeChangeset(b []byte) (changesetView, error) {
	var cs changesetView
	if len(b) == 0 {
		return cs, nil
	}
	if err := json.Unmarshal(b, &cs); err != nil {
		return cs, err
	}
	for i := range cs.Members {
		m := &cs.Members[i]
		if p := m.PR; p != nil {
			m.Repo, m.Number, m.SHA, m.Base, m.URL, m.Title = p.Repo, p.Number, p.HeadSHA, p.BaseRef, p.URL, p.Title
		}
	}
	return cs, nil
}

type runPageData struct {
	Run       *store.Run
	Changeset changesetView
	Result    *ci.Result
	Failed    *ci.StepResult // the first failing step, whose log tail is shown
	Notes     []string       // what could not be shown, and why
}

func (h *Handler) runFromPath(w http.ResponseWriter, r *http.Request) (*store.Run, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "run id must be a positive number", http.StatusBadRequest)
		return nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	run, err := h.st.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no run "+strconv.FormatInt(id, 10), http.StatusNotFound)
		return nil, false
	}
	if err != nil {
		h.log.WithError(err).WithField(logging.Run, id).Error("run page: store")
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return nil, false
	}
	return run, true
}

func (h *Handler) serveRun(w http.ResponseWriter, r *http.Request) {
	run, ok := h.runFromPath(w, r)
	if !ok {
		return
	}
	data := runPageData{Run: run}
	cs, err := decodeChangeset(run.Changeset)
	if err != nil {
		data.Notes = append(data.Notes, "the changeset record could not be read: "+err.Error())
	}
	data.Changeset = cs
	if len(run.Result) > 0 {
		var res ci.Result
		if err := json.Unmarshal(run.Result, &res); err != nil {
			data.Notes = append(data.Notes, "the result record could not be read: "+err.Error())
		} else {
			data.Result = &res
			for i := range res.Steps {
				if s := &res.Steps[i]; s.Result == ci.Failure || s.Result == ci.Error {
					data.Failed = s
					break
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := runPage.Execute(&buf, data); err != nil {
		h.log.WithError(err).WithField(logging.Run, run.ID).Error("run page: template")
		http.Error(w, "could not render the run page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(buf.Bytes())
}

func (h *Handler) serveRunLog(w http.ResponseWriter, r *http.Request) {
	run, ok := h.runFromPath(w, r)
	if !ok {
		return
	}
	log, err := h.st.Log(r.Context(), run.ID)
	if err != nil {
		h.log.WithError(err).WithField(logging.Run, run.ID).Error("run log: store")
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	// text/plain with nosniff: build output is untrusted and must never be
	// rendered as a page.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(log)
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
