package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

const signaturePrefix = "sha256="

var (
	errNoSignature  = errors.New("missing X-Hub-Signature-256 header: configure a secret on the GitHub webhook")
	errBadSignature = errors.New("X-Hub-Signature-256 is not sha256=<64 hex digits>")
	errMismatch     = errors.New("signature does not match the body: the secret on the GitHub webhook must equal --webhook-secret")
)

// verify checks header, the X-Hub-Signature-256 value, against body in
// constant time.
func verify(secret []byte, header string, body []byte) error {
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
