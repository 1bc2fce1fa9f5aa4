// Package phony sends webhook deliveries the way GitHub does: signed with
// the shared secret, with the event and delivery headers. Tests use it to
// replay real payloads, and the demo uses it as its webhook sender.
package phony

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// Sign returns the X-Hub-Signature-256 value for body: "sha256=" and the
// hex HMAC-SHA256 of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// DeliveryID returns a random id shaped like GitHub's (a UUID).
func DeliveryID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
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

// Request builds the signed request GitHub would send.
func Request(ctx context.Context, url, event, deliveryID string, body, secret []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("phony: webhook request to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/phony")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-Hub-Signature-256", Sign(secret, body))
	return req, nil
}

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
