package webhook

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/internal/delivery"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
)

// storeTimeout bounds the wait for a delivery to be committed.
const storeTimeout = 10 * time.Second

// Delivery outcomes, the "outcome" label of the deliveries metric.
const (
	outcomeQueued    = "queued"
	outcomeDuplicate = "duplicate"
	outcomeIgnored   = "ignored"
	outcomePing      = "ping"
	outcomeBadSig    = "bad_signature"
	outcomeMalformed = "malformed"
	outcomeTooLarge  = "too_large"
	outcomeStoreErr  = "store_error"
	outcomeBusy      = "busy"
)

func (h *Handler) serveWebhook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// Header values are unverified until the signature is checked, so the
	// log carries them only in a bounded, printable form.
	deliveryID := r.Header.Get("X-GitHub-Delivery")
	event := r.Header.Get("X-GitHub-Event")
	log := h.log.WithFields(logrus.Fields{logging.Delivery: logSafe(deliveryID), logging.Event: logSafe(event)})
	reply := func(code int, outcome, msg string) {
		h.metrics.delivery(event, outcome)
		h.metrics.ack.Observe(time.Since(start).Seconds())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(code)
		fmt.Fprintln(w, msg)
	}

	if r.ContentLength > h.maxBody {
		log.WithField(logging.Bytes, r.ContentLength).Warn("webhook refused: body too large")
		reply(http.StatusRequestEntityTooLarge, outcomeTooLarge, fmt.Sprintf("body over %d bytes", h.maxBody))
		return
	}
	body, held, err := readBody(http.MaxBytesReader(w, r.Body, h.maxBody), r.ContentLength, h.maxBody, h.inFlight)
	defer h.inFlight.give(held)
	if err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			log.Warn("webhook refused: body too large")
			reply(http.StatusRequestEntityTooLarge, outcomeTooLarge, fmt.Sprintf("body over %d bytes", h.maxBody))
		case errors.Is(err, errBusy):
			// 503, never a 2xx: GitHub lists the delivery as failed and
			// it can be redelivered.
			log.WithField(logging.Bytes, r.ContentLength).Warn("webhook refused: the bytes of bodies in flight are at their bound")
			w.Header().Set("Retry-After", "5")
			w.Header().Set("Connection", "close")
			reply(http.StatusServiceUnavailable, outcomeBusy, "too many request bytes in flight; redeliver it later")
		default:
			log.WithError(err).Warn("webhook refused: reading the body failed")
			reply(http.StatusBadRequest, outcomeMalformed, "could not read the body")
		}
		return
	}
	if err := delivery.Verify(h.secret, r.Header.Get("X-Hub-Signature-256"), body); err != nil {
		log.WithError(err).Warn("webhook refused: bad signature")
		reply(http.StatusUnauthorized, outcomeBadSig, err.Error())
		return
	}
	if msg := checkHeaders(event, deliveryID); msg != "" {
		log.Warn("webhook refused: " + msg)
		reply(http.StatusBadRequest, outcomeMalformed, msg)
		return
	}
	payload, err := jsonPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		log.WithError(err).Warn("webhook refused: malformed payload")
		reply(http.StatusBadRequest, outcomeMalformed, err.Error())
		return
	}
	action, err := payloadAction(payload)
	if err != nil {
		log.WithError(err).Warn("webhook refused: malformed payload")
		reply(http.StatusBadRequest, outcomeMalformed, "payload is not a JSON object: "+err.Error())
		return
	}
	log = log.WithField(logging.Action, logSafe(action))

	switch {
	case event == "ping":
		log.Info("ping")
		reply(http.StatusOK, outcomePing, "pong")
		return
	case !h.events[event]:
		log.Debug("event ignored")
		reply(http.StatusAccepted, outcomeIgnored, "ignored: workspace-bot does not act on "+event)
		return
	}

	// The request's context is deliberately not used: once the bytes are
	// verified, a client hanging up must not leave the delivery half
	// stored; storeTimeout bounds the wait instead.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
	defer cancel()
	inserted, err := h.st.AddDelivery(ctx, store.Delivery{
		ID: deliveryID, Event: event, Action: action, Payload: payload, ReceivedAt: start,
	})
	if err != nil {
		// 503, never a 2xx: GitHub then lists the delivery as failed and
		// it can be redelivered.
		log.WithError(err).Error("webhook not stored")
		reply(http.StatusServiceUnavailable, outcomeStoreErr, "could not store the delivery; redeliver it later")
		return
	}
	if !inserted {
		log.Info("duplicate delivery: already stored")
		reply(http.StatusOK, outcomeDuplicate, "duplicate: already queued")
		return
	}
	h.notify()
	log.WithField(logging.Duration, time.Since(start).Milliseconds()).Debug("delivery queued")
	reply(http.StatusAccepted, outcomeQueued, "queued")
}

// checkHeaders says what is wrong with the event and delivery headers, or
// "" when both are usable.
func checkHeaders(event, delivery string) string {
	switch {
	case event == "":
		return "missing X-GitHub-Event header"
	case delivery == "":
		return "missing X-GitHub-Delivery header"
	case !token(event, 64):
		return "X-GitHub-Event is not an event name"
	case !token(delivery, 128):
		return "X-GitHub-Delivery is not a delivery id"
	}
	return ""
}

// token reports whether s is 1..max characters of [A-Za-z0-9._-], which
// covers GitHub's event names and delivery UUIDs and keeps both safe to
// log and to use as keys.
func token(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// logSafe bounds an untrusted header value for a log line.
func logSafe(s string) string {
	if token(s, 128) || s == "" {
		return s
	}
	if len(s) > 128 {
		s = s[:128]
	}
	return fmt.Sprintf("%q", s)
}

// jsonPayload returns the JSON document of a delivery: the body itself, or
// the payload field of a form-encoded one (GitHub's other content type).
func jsonPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("form-encoded body: %w", err)
		}
		p := form.Get("payload")
		if p == "" {
			return nil, errors.New("form-encoded body without a payload field")
		}
		body = []byte(p)
	}
	return body, nil
}
