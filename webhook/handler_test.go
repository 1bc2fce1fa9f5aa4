package webhook

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/phony"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/webhooktest"
)

const testSecret = "test-webhook-secret"

var fixtures = webhooktest.Dir

type testServer struct {
	URL      string
	Store    *store.Store
	Handler  *Handler
	Notified *atomic.Int64
	Logs     *logtest.Hook
	path     string
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), store.FileName)
	var sopts []store.Option
	if opts.Clock != nil {
		sopts = append(sopts, store.WithClock(opts.Clock))
	}
	st, err := store.Open(context.Background(), path, sopts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	var n atomic.Int64
	if opts.Secret == nil {
		opts.Secret = []byte(testSecret)
	}
	opts.Store = st
	opts.Events = bot.Events()
	opts.Notify = func() { n.Add(1) }
	opts.Log = log
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testServer{URL: srv.URL, Store: st, Handler: h, Notified: &n, Logs: hook, path: path}
}

func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends body to /webhook with the given headers; a header set to ""
// is left out.
func post(t *testing.T, url string, hdr map[string]string, body io.Reader) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/webhook", body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func signed(event, delivery string, body []byte) map[string]string {
	return map[string]string{
		"Content-Type":        "application/json",
		"X-GitHub-Event":      event,
		"X-GitHub-Delivery":   delivery,
		"X-Hub-Signature-256": phony.Sign([]byte(testSecret), body),
	}
}

func TestNewRefusesEmptySecret(t *testing.T) {
	for _, secret := range [][]byte{nil, {}} {
		_, err := New(Options{Secret: secret})
		if err == nil {
			t.Fatal("New without a secret succeeded")
		}
		for _, want := range []string{"--webhook-secret", "WORKSPACE_BOT_WEBHOOK_SECRET"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
	}
}

func TestEveryFixtureIsAccepted(t *testing.T) {
	ts := newTestServer(t, Options{})
	files, err := filepath.Glob(filepath.Join(fixtures, "*", "*.json"))
	if err != nil || len(files) < 15 {
		t.Fatalf("found %d fixtures (%v)", len(files), err)
	}
	stored := 0
	for i, f := range files {
		event := phony.EventOf(f)
		t.Run(event+"/"+filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := http.StatusAccepted
			if event == "ping" {
				want = http.StatusOK
			}
			id := fmt.Sprintf("fixture-%d", i)
			code, _, msg := post(t, ts.URL, signed(event, id, body), bytes.NewReader(body))
			if code != want {
				t.Fatalf("status %d (%s), want %d", code, msg, want)
			}
			d, err := ts.Store.GetDelivery(context.Background(), id)
			if !ts.Handler.events[event] {
				if err == nil {
					t.Fatalf("%s delivery was stored", event)
				}
				return
			}
			stored++
			if err != nil {
				t.Fatalf("%s delivery not stored: %v", event, err)
			}
			if d.Event != event || !bytes.Equal(d.Payload, body) || d.State != store.DeliveryPending {
				t.Fatalf("stored %s %s %d bytes, want %s pending %d bytes", d.Event, d.State, len(d.Payload), event, len(body))
			}
			wantAction, _ := phony.GetString(mustLoad(t, f), "action")
			if d.Action != wantAction {
				t.Fatalf("action %q, want %q", d.Action, wantAction)
			}
		})
	}
	if n, _ := ts.Store.CountDeliveries(context.Background(), ""); n != stored || stored == 0 {
		t.Fatalf("%d deliveries stored, want %d", n, stored)
	}
	if got := ts.Notified.Load(); got != int64(stored) {
		t.Fatalf("Notify called %d times, want %d", got, stored)
	}
}

func mustLoad(t *testing.T, path string) phony.Doc {
	t.Helper()
	d, err := phony.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWebhookStatusCodes(t *testing.T) {
	ts := newTestServer(t, Options{MaxBody: 64 << 10})
	body := readFixture(t, "pull_request/opened.payload.json")
	good := func(id string) map[string]string { return signed("pull_request", id, body) }
	with := func(h map[string]string, k, v string) map[string]string { h[k] = v; return h }
	form := []byte("payload=" + url.QueryEscape(string(body)))
	big := bytes.Repeat([]byte(" "), 65<<10)
	for _, c := range []struct {
		name string
		hdr  map[string]string
		body []byte
		want int
	}{
		{"signed", good("ok-1"), body, http.StatusAccepted},
		{"forged signature", with(good("f"), "X-Hub-Signature-256", phony.Sign([]byte("wrong"), body)), body, http.StatusUnauthorized},
		{"unsigned", with(good("u"), "X-Hub-Signature-256", ""), body, http.StatusUnauthorized},
		{"sha1 only", with(with(good("s1"), "X-Hub-Signature-256", ""), "X-Hub-Signature", "sha1=0123"), body, http.StatusUnauthorized},
		{"wrong algorithm prefix", with(good("a"), "X-Hub-Signature-256", "sha1="+strings.TrimPrefix(phony.Sign([]byte(testSecret), body), "sha256=")), body, http.StatusUnauthorized},
		{"not hex", with(good("h"), "X-Hub-Signature-256", "sha256=zz"), body, http.StatusUnauthorized},
		{"truncated body", good("t"), body[:len(body)/2], http.StatusUnauthorized},
		{"missing event header", with(good("e"), "X-GitHub-Event", ""), body, http.StatusBadRequest},
		{"missing delivery header", with(good(""), "X-GitHub-Delivery", ""), body, http.StatusBadRequest},
		{"delivery id with a path", good("../etc/x y"), body, http.StatusBadRequest},
		{"malformed JSON", signed("pull_request", "m", []byte(`{"action":`)), []byte(`{"action":`), http.StatusBadRequest},
		{"JSON null", signed("pull_request", "n", []byte(`null`)), []byte(`null`), http.StatusBadRequest},
		{"JSON array", signed("pull_request", "arr", []byte(`[1]`)), []byte(`[1]`), http.StatusBadRequest},
		{"action not a string", signed("pull_request", "num", []byte(`{"action":1}`)), []byte(`{"action":1}`), http.StatusBadRequest},
		{"form-encoded", with(signed("pull_request", "form", form), "Content-Type", "application/x-www-form-urlencoded"), form, http.StatusAccepted},
		{"unhandled event", signed("star", "star-1", []byte(`{"action":"created"}`)), []byte(`{"action":"created"}`), http.StatusAccepted},
		{"over the size cap", signed("pull_request", "big", big), big, http.StatusRequestEntityTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, msg := post(t, ts.URL, c.hdr, bytes.NewReader(c.body))
			if code != c.want {
				t.Fatalf("status %d (%q), want %d", code, msg, c.want)
			}
		})
	}
	// Only the two good pull_request deliveries were stored.
	if n, _ := ts.Store.CountDeliveries(context.Background(), ""); n != 2 {
		t.Fatalf("%d deliveries stored, want 2", n)
	}
	// A secret must never reach a log line; a delivery id must be on all.
	for _, e := range ts.Logs.AllEntries() {
		if _, ok := e.Data[logging.Delivery]; !ok {
			t.Errorf("log line without a delivery id: %q", e.Message)
		}
		line, _ := e.String()
		if strings.Contains(line, testSecret) {
			t.Errorf("secret in log line %q", line)
		}
	}
}

func TestSizeCapWithoutReadingTheBody(t *testing.T) {
	// The Content-Length alone decides: the client announces 30 MiB,
	// sends a few bytes and waits for the answer.
	ts := newTestServer(t, Options{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: pull_request\r\nX-GitHub-Delivery: huge\r\n"+
		"X-Hub-Signature-256: sha256=00\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"action\":", 30<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}

func TestSizeCapChunked(t *testing.T) {
	// No Content-Length: the MaxBytesReader stops the read at the cap.
	ts := newTestServer(t, Options{})
	body := io.LimitReader(zeros{}, MaxBody+1<<20)
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/webhook", body)
	req.ContentLength = -1
	req.Header = http.Header{}
	for k, v := range signed("pull_request", "chunked", nil) {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestWrongMethod(t *testing.T) {
	ts := newTestServer(t, Options{})
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, ts.URL+"/webhook", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /webhook: %d, want 405", m, resp.StatusCode)
		}
		if allow := resp.Header.Get("Allow"); allow != "POST" {
			t.Errorf("%s /webhook: Allow %q, want POST", m, allow)
		}
	}
}

func TestDuplicateDeliveryStoredOnce(t *testing.T) {
	ts := newTestServer(t, Options{})
	body := readFixture(t, "issue_comment/created.payload.json")
	var codes []int
	for i := 0; i < 3; i++ {
		code, _, _ := post(t, ts.URL, signed("issue_comment", "same-id", body), bytes.NewReader(body))
		codes = append(codes, code)
	}
	if codes[0] != http.StatusAccepted || codes[1] != http.StatusOK || codes[2] != http.StatusOK {
		t.Fatalf("statuses %v, want 202 then 200s", codes)
	}
	if n, _ := ts.Store.CountDeliveries(context.Background(), ""); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
	if ts.Notified.Load() != 1 {
		t.Fatalf("Notify called %d times, want once", ts.Notified.Load())
	}
}

func TestStoreDownIs503(t *testing.T) {
	ts := newTestServer(t, Options{})
	body := readFixture(t, "pull_request/synchronize.payload.json")
	ts.Store.Close()
	code, _, _ := post(t, ts.URL, signed("pull_request", "lost-1", body), bytes.NewReader(body))
	if code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", code)
	}
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz with the store closed: %d, want 503", resp.StatusCode)
	}
	if ts.Notified.Load() != 0 {
		t.Fatal("Notify called for a delivery that was not stored")
	}
}

func TestDeliveryIsDurable(t *testing.T) {
	ts := newTestServer(t, Options{})
	body := readFixture(t, "check_run/rerequested.payload.json")
	code, _, _ := post(t, ts.URL, signed("check_run", "durable-1", body), bytes.NewReader(body))
	if code != http.StatusAccepted {
		t.Fatalf("status %d", code)
	}
	if err := ts.Store.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), ts.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := st.ClaimDelivery(context.Background())
	if err != nil || d == nil {
		t.Fatalf("after reopen ClaimDelivery = %v %v", d, err)
	}
	if d.ID != "durable-1" || d.Event != "check_run" || d.Action != "rerequested" || !bytes.Equal(d.Payload, body) {
		t.Fatalf("reopened delivery %s %s %s (%d bytes)", d.ID, d.Event, d.Action, len(d.Payload))
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts := newTestServer(t, Options{})
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "ok" {
		t.Fatalf("healthz %d %q", resp.StatusCode, b)
	}

	body := readFixture(t, "pull_request/opened.payload.json")
	post(t, ts.URL, signed("pull_request", "m-1", body), bytes.NewReader(body))
	post(t, ts.URL, signed("pull_request", "m-1", body), bytes.NewReader(body))
	post(t, ts.URL, signed("pull_request", "m-2", body), bytes.NewReader(body[1:]))
	if _, _, err := ts.Store.EnqueueRun(context.Background(), store.Run{Key: "o/r#1"}, 0); err != nil {
		t.Fatal(err)
	}
	m := ts.Handler.Metrics()
	m.RunFinished("success", 90e9)
	m.DeliveryHandled("pull_request", "done")
	var nilMetrics *Metrics
	nilMetrics.RunFinished("failure", 1) // must not panic

	resp, err = http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`workspace_bot_webhook_deliveries_total{event="pull_request",outcome="queued"} 1`,
		`workspace_bot_webhook_deliveries_total{event="pull_request",outcome="duplicate"} 1`,
		`workspace_bot_webhook_deliveries_total{event="pull_request",outcome="bad_signature"} 1`,
		`workspace_bot_queue_depth 2`, // one pending delivery, one queued run
		`workspace_bot_runs_total{result="success"} 1`,
		`workspace_bot_run_duration_seconds_sum 90`,
		`workspace_bot_deliveries_handled_total{event="pull_request",outcome="done"} 1`,
		`workspace_bot_webhook_ack_seconds_count 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
