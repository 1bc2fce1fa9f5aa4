// Package delivery is a GitHub webhook delivery on the wire: its
// X-Hub-Signature-256 signature, which the service verifies and the demo
// and tests sign, and the headers GitHub sends it with.
package delivery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

const signaturePrefix = "sha256="

var (
	errNoSignature  = errors.New("missing X-Hub-Signature-256 header: configure a secret on the GitHub webhook")
	errBadSignature = errors.New("X-Hub-Signature-256 is not sha256=<64 hex digits>")
	errMismatch     = errors.New("signature does not match the body: the secret on the GitHub webhook must equal --webhook-secret")
)

// Sign returns the X-Hub-Signature-256 value for body: "sha256=" and the
// hex HMAC-SHA256 of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks header, the X-Hub-Signature-256 value, against body in
// constant time.
func Verify(secret []byte, header string, body []byte) error {
	if header == "" {
		return errNoSignature
	}
	hexSig, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return errBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return errBadSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errMismatch
	}
	return nil
}

// NewID returns a random delivery id shaped like GitHub's (a UUID).
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewRequest is the signed request GitHub would send to url: event's body
// as delivery id ("" makes one up).
func NewRequest(ctx context.Context, url, event, id string, body, secret []byte) (*http.Request, error) {
	if id == "" {
		id = NewID()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("webhook request to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/workspace-bot")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-Hub-Signature-256", Sign(secret, body))
	return req, nil
}
