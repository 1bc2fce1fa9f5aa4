// Package phony sends webhook deliveries the way GitHub does, for tests:
// signed with the shared secret, with the event and delivery headers, and
// replays real payloads edited by path. It is a test helper; nothing in the
// binary imports it.
package phony

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/provide-io/workspace-bot/internal/delivery"
	"github.com/provide-io/workspace-bot/internal/jsondoc"
)

// The wire form of a delivery and the payload editing are the binary's
// own (internal/delivery, internal/jsondoc); tests reach them here.
var (
	Sign       = delivery.Sign
	DeliveryID = delivery.NewID
	Request    = delivery.NewRequest
	Decode     = jsondoc.Decode
	Marshal    = jsondoc.Marshal
	Get        = jsondoc.Get
	GetString  = jsondoc.GetString
	Set        = jsondoc.Set
	Delete     = jsondoc.Delete
)

// Doc is a decoded JSON payload.
type Doc = jsondoc.Doc

// Load reads and decodes a JSON payload file.
func Load(path string) (Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("phony: read payload: %w", err)
	}
	d, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("phony: %s: %w", path, err)
	}
	return d, nil
}

// MustMarshal is Marshal for tests, where a payload that cannot be encoded
// is a bug in the test.
func MustMarshal(d Doc) []byte {
	b, err := Marshal(d)
	if err != nil {
		panic(err)
	}
	return b
}

// EventOf returns the event name of a fixture from its directory, as the
// fixtures are laid out: webhooks/<event>/<file>.json.
func EventOf(fixturePath string) string {
	return filepath.Base(filepath.Dir(fixturePath))
}

// Sender posts deliveries to one webhook URL.
type Sender struct {
	URL    string
	Secret []byte
	// Client defaults to a client with a 30 second timeout.
	Client *http.Client
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

// Send posts body as event with deliveryID ("" makes one up). The caller
// closes the response body.
func (s *Sender) Send(ctx context.Context, event, deliveryID string, body []byte) (*http.Response, error) {
	if deliveryID == "" {
		deliveryID = DeliveryID()
	}
	req, err := Request(ctx, s.URL, event, deliveryID, body, s.Secret)
	if err != nil {
		return nil, err
	}
	c := s.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("phony: send %s delivery %s to %s: %w", event, deliveryID, s.URL, err)
	}
	return resp, nil
}

// Send posts one signed delivery with a default client.
func Send(ctx context.Context, url, event, deliveryID string, body []byte, secret string) (*http.Response, error) {
	s := Sender{URL: url, Secret: []byte(secret)}
	return s.Send(ctx, event, deliveryID, body)
}
