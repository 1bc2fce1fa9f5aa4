// Package webhook is the service's HTTP edge: it verifies and stores
// GitHub webhook deliveries, and serves health, metrics and run pages. It
// decodes no more of a payload than its action; the bot does the rest from
// the stored delivery.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/internal/clock"
	"github.com/provide-io/workspace-bot/internal/store"
)

// MaxBody is the largest payload accepted, GitHub's own cap on deliveries.
const MaxBody = 25 << 20

// Store is what the HTTP layer needs from the database; *store.Store is
// one.
type Store interface {
	AddDelivery(ctx context.Context, d store.Delivery) (bool, error)
	Ping(ctx context.Context) error
	QueueDepth(ctx context.Context) (int, error)
	GetRun(ctx context.Context, id int64) (*store.Run, error)
	LiveList(ctx context.Context, f store.RunFilter) ([]store.Run, error)
	History(ctx context.Context, f store.RunFilter, before int64, limit int) ([]store.Run, error)
	WaitingList(ctx context.Context, f store.RunFilter) ([]store.Waiting, error)
	CountQueue(ctx context.Context) (store.QueueCounts, error)
	OpenLog(ctx context.Context, runID int64) (io.ReadCloser, error)
}

// Options configure a Handler.
type Options struct {
	// Secret is the webhook secret shared with GitHub. Required.
	Secret []byte
	Store  Store
	// Events are the events the bot acts on (bot.Events()); only these are
	// stored. Any other event is acknowledged and dropped: nothing would
	// ever read it. Required.
	Events []string
	// Notify, when set, is called after a delivery is stored, to wake the
	// workers. It must not block.
	Notify func()
	Log    logrus.FieldLogger
	// Registry is what /metrics serves; nil makes a fresh one. Never the
	// global registry, so tests and several handlers in one process do
	// not collide.
	Registry *prometheus.Registry
	// Metrics, built by the caller on Registry before the bot so both
	// report to the same collectors; nil makes them on Registry.
	Metrics *Metrics
	// MaxBody overrides MaxBody, for tests.
	MaxBody int64
	// MaxInFlight bounds the bytes of request bodies held at once across
	// all requests (0: DefaultMaxInFlight); a request that would pass it
	// is answered 503.
	MaxInFlight int64
	// Clock says how long ago and how long for on the run pages; nil is
	// the machine's. It should be the store's.
	Clock clock.Clock
	// Jobs, when set, answers the jobs that build runs elsewhere (the
	// actions executor): GET /runs/{id}/plan and POST /runs/{id}/result.
	Jobs Jobs
	// WorkflowRun, when set, says which GitHub Actions run built a run
	// (its page, and which dispatch it was), for the run page; "" for
	// none.
	WorkflowRun func(ctx context.Context, run int64) (url string, attempt int)
}

// Handler serves POST /webhook, GET /healthz, GET /metrics, GET / and
// GET /runs (the queue and the finished runs), GET /runs/{id} and GET
// /runs/{id}/log.
type Handler struct {
	secret      []byte
	st          Store
	events      map[string]bool
	notify      func()
	log         logrus.FieldLogger
	reg         *prometheus.Registry
	metrics     *Metrics
	maxBody     int64
	inFlight    *budget
	mux         *http.ServeMux
	clock       clock.Clock
	jobs        Jobs
	workflowRun func(ctx context.Context, run int64) (string, int)
	// historyPage is how many finished runs a page of GET /runs lists:
	// HistoryPageSize, fewer in tests.
	historyPage int
}

// ErrNoSecret is returned by New without a webhook secret.
var ErrNoSecret = errors.New("webhook: no webhook secret: set --webhook-secret or WORKSPACE_BOT_WEBHOOK_SECRET " +
	"to the secret configured on the GitHub webhook (an empty secret would accept unsigned requests)")

// New checks opts and builds the handler, registering its metrics.
func New(opts Options) (*Handler, error) {
	if len(opts.Secret) == 0 {
		return nil, ErrNoSecret
	}
	if opts.Store == nil {
		return nil, fmt.Errorf("webhook: no store: deliveries must be stored before they are acknowledged")
	}
	if len(opts.Events) == 0 {
		return nil, fmt.Errorf("webhook: no events: pass the events the bot acts on (bot.Events())")
	}
	h := &Handler{
		secret:   append([]byte(nil), opts.Secret...),
		st:       opts.Store,
		events:   eventSet(opts.Events),
		notify:   opts.Notify,
		log:      opts.Log,
		reg:      opts.Registry,
		maxBody:  opts.MaxBody,
		inFlight: &budget{limit: opts.MaxInFlight},

		clock:       clock.Or(opts.Clock),
		historyPage: HistoryPageSize,
		jobs:        opts.Jobs,
		workflowRun: opts.WorkflowRun,
	}
	if h.notify == nil {
		h.notify = func() {}
	}
	if h.log == nil {
		l := logrus.New()
		l.SetLevel(logrus.WarnLevel)
		h.log = l
	}
	if h.reg == nil {
		h.reg = prometheus.NewRegistry()
	}
	if h.maxBody <= 0 {
		h.maxBody = MaxBody
	}
	if h.inFlight.limit <= 0 {
		h.inFlight.limit = DefaultMaxInFlight
	}
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "workspace_bot_webhook_body_bytes_in_flight",
		Help: "Bytes of webhook request bodies held in memory now, across all requests.",
	}, func() float64 { return float64(h.inFlight.used.Load()) })
	if err := h.reg.Register(inFlight); err != nil {
		return nil, fmt.Errorf("webhook: register metrics: %w", err)
	}
	h.metrics = opts.Metrics
	if h.metrics == nil {
		m, err := NewMetrics(h.reg, opts.Store.QueueDepth, opts.Events)
		if err != nil {
			return nil, err
		}
		h.metrics = m
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST "+Path, h.serveWebhook)
	mux.HandleFunc("GET /healthz", h.serveHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{ErrorLog: errorLog{h.log}}))
	mux.HandleFunc("GET /{$}", h.serveRuns)
	mux.HandleFunc("GET /runs", h.serveRuns)
	mux.HandleFunc("GET /runs/{id}", h.serveRun)
	mux.HandleFunc("GET /runs/{id}/log", h.serveRunLog)
	if h.jobs != nil {
		mux.HandleFunc("GET /runs/{id}/plan", h.serveJobPlan)
		mux.HandleFunc("POST /runs/{id}/result", h.serveJobResult)
	}
	h.mux = mux
	return h, nil
}

func eventSet(events []string) map[string]bool {
	m := make(map[string]bool, len(events))
	for _, e := range events {
		m[e] = true
	}
	return m
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Metrics returns the collectors the rest of the service reports to.
func (h *Handler) Metrics() *Metrics { return h.metrics }

// Registry returns the registry /metrics serves, for other collectors
// (the GitHub client's) to join.
func (h *Handler) Registry() *prometheus.Registry { return h.reg }

func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.st.Ping(ctx); err != nil {
		h.log.WithError(err).Warn("health check: store not answering")
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// errorLog lets promhttp report through logrus.
type errorLog struct{ log logrus.FieldLogger }

func (e errorLog) Println(v ...any) { e.log.Error(v...) }
