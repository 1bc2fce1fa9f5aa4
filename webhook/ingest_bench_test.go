package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/phony"
	"github.com/provide-io/workspace-bot/internal/store"
)

// BenchmarkIngest measures acknowledged, durably stored deliveries per
// second and the acknowledgement latency: 32 clients post the real signed
// pull_request payload to a real listener on loopback, each request with a
// new delivery id. "bounded" is the service as it runs, with its bound on
// the bytes in flight and its server's timeouts; "unbounded" is the
// baseline in the same run, without them. Run it as in the README:
//
//	go test ./webhook -run '^$' -bench Ingest -benchtime 20000x
func BenchmarkIngest(b *testing.B) {
	b.Run("bounded", func(b *testing.B) {
		benchIngest(b, DefaultMaxInFlight, func(s *http.Server) {
			// internal/server's defaults.
			s.ReadHeaderTimeout, s.ReadTimeout, s.MaxHeaderBytes = 10*time.Second, 30*time.Second, 64<<10
		})
	})
	b.Run("unbounded", func(b *testing.B) { benchIngest(b, 1<<62, func(*http.Server) {}) })
}

func benchIngest(b *testing.B, maxInFlight int64, config func(*http.Server)) {
	const clients = 32
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	log := logrus.New()
	log.SetOutput(io.Discard)
	h, err := New(Options{Secret: []byte(testSecret), Store: st, Events: bot.Events(), Log: log, MaxInFlight: maxInFlight})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	config(srv.Config)
	srv.Start()
	defer srv.Close()

	body, err := bodyOf("pull_request/opened.payload.json")
	if err != nil {
		b.Fatal(err)
	}
	sig := phony.Sign([]byte(testSecret), body)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}

	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", i))
				req.Header.Set("X-Hub-Signature-256", sig)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != http.StatusAccepted {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	if n, err := st.CountDeliveries(ctx, store.DeliveryPending); err != nil || n != b.N {
		b.Fatalf("%d deliveries stored (%v), want %d", n, err, b.N)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)]) / 1e6 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
}

func bodyOf(rel string) ([]byte, error) {
	d, err := phony.Load(filepath.Join(fixtures, rel))
	if err != nil {
		return nil, err
	}
	return phony.Marshal(d)
}
