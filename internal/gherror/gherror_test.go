package gherror

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestFinal(t *testing.T) {
	limited := &Limit{Until: time.Unix(1, 0), Err: errors.New("403 secondary rate limit")}
	for _, tc := range []struct {
		err   error
		final bool
	}{
		{fmt.Errorf("o/r#1: %w", NotFound), true},
		{fmt.Errorf("o/r#1: %w", Forbidden), true},
		{fmt.Errorf("o/r#1: %w", Rejected), true},
		{fmt.Errorf("o/r#1: %w", limited), false},
		{errors.New("502 Bad Gateway"), false},
		{nil, false},
	} {
		if got := Final(tc.err); got != tc.final {
			t.Errorf("Final(%v) = %v, want %v", tc.err, got, tc.final)
		}
	}
	if !errors.Is(fmt.Errorf("x: %w", limited), RateLimited) {
		t.Error("a Limit is not RateLimited")
	}
}
