package webhook

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPayloadAction(t *testing.T) {
	for _, c := range []struct {
		in     string
		action string
		bad    bool
	}{
		{`{"action":"opened"}`, "opened", false},
		{` {"number":1, "action" : "closed" } `, "closed", false},
		{`{"pull_request":{"action":"nested"},"x":[{"action":"arr"}]}`, "", false},
		{`{"a":"action","action":"real"}`, "real", false},
		{`{"action":"first","action":"last"}`, "last", false},
		{`{"action":null}`, "", false},
		{`{"action":"\u00e9d\"ited"}`, "éd\"ited", false},
		{`{"b":"\\\"action\":\"no\""}`, "", false},
		{`{}`, "", false},
		{`{"\u0061ction":"escaped key"}`, "escaped key", false},
		{`{"n":-0.5e+10,"t":true,"f":false,"z":null,"a":[]}`, "", false},
		{`{"action":1}`, "", true},
		{`{"action":`, "", true},
		{`[1]`, "", true},
		{`null`, "", true},
		{``, "", true},
		{`{"a":1}x`, "", true},
		{`{"a":01}`, "", true},
		{`{"a":"\x"}`, "", true},
		{"{\"a\":\"\n\"}", "", true},
		{`{"a":1,}`, "", true},
		{`{"a" 1}`, "", true},
		{`{"a":tru}`, "", true},
		{`{"a":1.}`, "", true},
		{`{"a":"\u12"}`, "", true},
		{strings.Repeat("[", 10001) + strings.Repeat("]", 10001), "", true},
	} {
		got, err := payloadAction([]byte(c.in))
		if c.bad != (err != nil) {
			t.Errorf("payloadAction(%.40q) error = %v, want bad=%v", c.in, err, c.bad)
			continue
		}
		if got != c.action {
			t.Errorf("payloadAction(%.40q) = %q, want %q", c.in, got, c.action)
		}
	}
}

// FuzzPayloadAction checks the scanner against encoding/json: the same
// verdict on validity, and the same action.
func FuzzPayloadAction(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{"action":"x"}`, `{"a":[1,2,{"b":null}]}`, `{"action":"\ud800"}`, `{"x":1e5}`, `{"a":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(agreesWithEncodingJSON)
}

// TestPayloadActionMutations runs the fuzz check over mutated fixtures
// with a fixed seed: go test -fuzz is slow in this package (the SQLite
// driver it links is instrumented too).
func TestPayloadActionMutations(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*", "*.json"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := []string{"{", "}", "[", "]", ",", ":", `"`, `\`, "0", "-", ".", "e", "n", " ", `\u00`, `\x`, `\n`, `\u0061ction`, "\n", "\t", "\x01", "\xff"}
	for i := 0; i < 3000; i++ {
		b, err := os.ReadFile(files[rng.IntN(len(files))])
		if err != nil {
			t.Fatal(err)
		}
		for m := rng.IntN(3) + 1; m > 0; m-- {
			at := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0: // cut
				b = b[:at]
			case 1: // insert a token
				tok := tokens[rng.IntN(len(tokens))]
				b = append(b[:at:at], append([]byte(tok), b[at:]...)...)
			case 2: // delete a byte
				b = append(b[:at:at], b[at+1:]...)
			}
			if len(b) == 0 {
				break
			}
		}
		agreesWithEncodingJSON(t, b)
	}
}

func agreesWithEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	{
		got, err := payloadAction(b)
		var obj map[string]json.RawMessage
		jsonErr := json.Unmarshal(b, &obj)
		isObject := jsonErr == nil && obj != nil
		if !isObject {
			if err == nil {
				t.Fatalf("accepted %q, which encoding/json refuses (%v)", b, jsonErr)
			}
			return
		}
		w := ""
		if raw, ok := obj["action"]; ok && string(raw) != "null" {
			if json.Unmarshal(raw, &w) != nil {
				if err == nil {
					t.Fatalf("accepted a non-string action in %q", b)
				}
				return
			}
		}
		if err != nil {
			t.Fatalf("refused %q, which encoding/json accepts: %v", b, err)
		}
		if got != w {
			t.Fatalf("action %q, encoding/json says %q, in %q", got, w, b)
		}
	}
}

// BenchmarkPayloadAction times the edge's one look at a payload against
// what encoding/json would take to give the same answer (the validator
// the scanner is measured against in FuzzPayloadAction):
//
//	go test ./webhook -run '^$' -bench PayloadAction
func BenchmarkPayloadAction(b *testing.B) {
	body, err := bodyOf("pull_request/opened.payload.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		action func([]byte) (string, error)
	}{
		{"jsonscan", payloadAction},
		{"encoding-json", func(p []byte) (string, error) {
			var v struct{ Action *string }
			if err := json.Unmarshal(p, &v); err != nil || v.Action == nil {
				return "", err
			}
			return *v.Action, nil
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if a, err := c.action(body); err != nil || a != "opened" {
					b.Fatalf("action %q, %v", a, err)
				}
			}
		})
	}
}
