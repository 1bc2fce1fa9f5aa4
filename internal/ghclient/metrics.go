package ghclient

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is an Observer that exports calls as Prometheus metrics. The
// service registers it next to its own collectors.
type Metrics struct {
	requests  *prometheus.CounterVec
	cacheHits prometheus.Counter
	remaining *prometheus.GaugeVec
	duration  prometheus.Histogram
}

// NewMetrics creates the collectors; register them with Register.
func NewMetrics() *Metrics {
	return &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workspace_bot_github_requests_total",
			Help: "GitHub API calls by method and HTTP status (\"error\" when no response arrived).",
		}, []string{"method", "status"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "workspace_bot_github_cache_hits_total",
			Help: "GitHub API calls answered 304 Not Modified and served from the cache (no rate limit spent).",
		}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "workspace_bot_github_ratelimit_remaining",
			Help: "The last X-RateLimit-Remaining GitHub reported, by rate-limit resource.",
		}, []string{"resource"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "workspace_bot_github_request_duration_seconds",
			Help:    "Duration of GitHub API calls.",
			Buckets: prometheus.DefBuckets,
		}),
	}
}

// Register adds the collectors to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.requests, m.cacheHits, m.remaining, m.duration} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// ObserveCall implements Observer.
func (m *Metrics) ObserveCall(c Call) {
	status := "error"
	if c.Err == nil {
		status = strconv.Itoa(c.Status)
	}
	m.requests.WithLabelValues(c.Method, status).Inc()
	if c.CacheHit {
		m.cacheHits.Inc()
	}
	if c.RateRemaining >= 0 {
		res := c.RateResource
		if res == "" {
			res = "core"
		}
		m.remaining.WithLabelValues(res).Set(float64(c.RateRemaining))
	}
	m.duration.Observe(c.Duration.Seconds())
}
