package webhook

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/provide-io/workspace-bot/internal/store"
)

// Metrics are the service's own collectors. The bot reports to them
// through DeliveryHandled and RunFinished (they fit bot.Options.OnDelivery
// and OnRun); the GitHub client layer registers its own collectors on the
// same registry (ghclient.Metrics). A nil *Metrics ignores every call.
type Metrics struct {
	// Deliveries counts webhook requests by event and outcome (queued,
	// duplicate, ignored, ping, bad_signature, malformed, too_large,
	// busy, store_error).
	Deliveries *prometheus.CounterVec
	// Handled counts stored deliveries the workers finished, by event and
	// outcome.
	Handled *prometheus.CounterVec
	// RunsTotal counts finished runs by result.
	RunsTotal *prometheus.CounterVec
	// RunDuration is how long runs took, in seconds.
	RunDuration prometheus.Histogram
	// Landings counts finished landings by outcome: landed, differs (a
	// landed tree is not the tested one), halted (stopped halfway).
	Landings *prometheus.CounterVec
	// ack is how long a webhook request took to answer.
	ack prometheus.Histogram
	// events label deliveries by name; other names are "other".
	events map[string]bool
}

// NewMetrics creates the collectors and registers them on reg, with a
// queue depth gauge read from depth at each scrape; events are the event
// names the bot acts on, the values of the event label.
func NewMetrics(reg prometheus.Registerer, depth func(ctx context.Context) (int, error), events []string) (*Metrics, error) {
	m := &Metrics{
		events: eventSet(events),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workspace_bot_webhook_deliveries_total",
			Help: "Webhook requests by event and outcome.",
		}, []string{"event", "outcome"}),
		Handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workspace_bot_deliveries_handled_total",
			Help: "Stored deliveries the workers finished, by event and outcome.",
		}, []string{"event", "outcome"}),
		RunsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workspace_bot_runs_total",
			Help: "Finished changeset runs by result.",
		}, []string{"result"}),
		Landings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workspace_bot_landings_total",
			Help: "Finished landings (/workspace merge) by outcome: landed, differs (landed, but a tree is not the one tested), halted (stopped halfway: alarm).",
		}, []string{"outcome"}),
		RunDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "workspace_bot_run_duration_seconds",
			Help:    "How long changeset runs took, from start to final result.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600},
		}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "workspace_bot_webhook_ack_seconds",
			Help:    "Time to answer a webhook request, including the durable store write.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
	}
	cs := []prometheus.Collector{m.Deliveries, m.Handled, m.RunsTotal, m.RunDuration, m.Landings, m.ack}
	if depth != nil {
		cs = append(cs, countGauge("workspace_bot_queue_depth",
			"Work waiting: pending deliveries plus queued runs (NaN when the store does not answer).", depth))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("webhook: register metrics: %w", err)
		}
	}
	return m, nil
}

// RegisterReportBacklog registers the outbox's gauges on reg, read from
// backlog at each scrape: how many reports GitHub has not yet accepted,
// and how long the oldest has waited. A backlog that grows, or an age
// past a few minutes, means GitHub refuses or cannot be reached.
func RegisterReportBacklog(reg prometheus.Registerer, backlog func(ctx context.Context) (store.Backlog, error)) error {
	read := func(f func(store.Backlog) float64) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			b, err := backlog(ctx)
			if err != nil {
				return math.NaN()
			}
			return f(b)
		}
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "workspace_bot_reports_pending",
			Help: "Reports (statuses, check runs, summary comments) written but not yet accepted by GitHub (NaN when the store does not answer).",
		}, read(func(b store.Backlog) float64 { return float64(b.Pending) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "workspace_bot_reports_oldest_pending_seconds",
			Help: "Age of the oldest report GitHub has not yet accepted; 0 when none is pending.",
		}, read(func(b store.Backlog) float64 {
			if b.Oldest.IsZero() {
				return 0
			}
			return time.Since(b.Oldest).Seconds()
		})),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("webhook: register metrics: %w", err)
		}
	}
	return nil
}

// eventLabel keeps the event label to a known set, so a flood of made-up
// event names cannot grow the metric without bound.
func (m *Metrics) eventLabel(event string) string {
	if m.events[event] || event == "ping" {
		return event
	}
	if event == "" {
		return "none"
	}
	return "other"
}

func (m *Metrics) delivery(event, outcome string) {
	if m == nil {
		return
	}
	m.Deliveries.WithLabelValues(m.eventLabel(event), outcome).Inc()
}

// DeliveryHandled counts a delivery the workers finished.
func (m *Metrics) DeliveryHandled(event, outcome string) {
	if m == nil {
		return
	}
	m.Handled.WithLabelValues(m.eventLabel(event), outcome).Inc()
}

// RunFinished counts a finished run and observes its duration.
func (m *Metrics) RunFinished(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.RunsTotal.WithLabelValues(result).Inc()
	m.RunDuration.Observe(d.Seconds())
}

// LandingFinished counts a finished landing.
func (m *Metrics) LandingFinished(outcome string) {
	if m == nil {
		return
	}
	m.Landings.WithLabelValues(outcome).Inc()
}

// RegisterUnfinished registers a gauge of the work not done, read from
// busy at each scrape (store.Busy): deliveries not yet handled, runs
// queued or running, reports not yet taken. 0 means the service is idle.
func RegisterUnfinished(reg prometheus.Registerer, busy func(ctx context.Context) (int, error)) error {
	if err := reg.Register(countGauge("workspace_bot_unfinished_work",
		"Deliveries not yet handled, runs queued or running, and reports not yet accepted by GitHub; 0 when the service is idle (NaN when the store does not answer).", busy)); err != nil {
		return fmt.Errorf("webhook: register metrics: %w", err)
	}
	return nil
}

// RegisterFlakyTests registers a gauge of the tests held as flaky, read
// from count at each scrape (store.FlakyTests): tests that failed and
// then passed at the same heads.
func RegisterFlakyTests(reg prometheus.Registerer, count func(ctx context.Context) (int, error)) error {
	if err := reg.Register(countGauge("workspace_bot_flaky_tests",
		"Tests that failed and then passed with the same head and base commits, so are held as flaky (NaN when the store does not answer).", count)); err != nil {
		return fmt.Errorf("webhook: register metrics: %w", err)
	}
	return nil
}

// countGauge is a gauge that asks the store for a count at each scrape:
// NaN when the store does not answer.
func countGauge(name, help string, count func(ctx context.Context) (int, error)) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := count(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	})
}
