package suggest

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
		why  string
	}{
		{"", "", 0, "empty"},
		{"headers", "headers", 0, "same"},
		{"heders", "headers", 1, "one deletion"},
		{"haeders", "headers", 1, "a swap of neighbours costs one"},
		{"metod", "method", 1, "one insertion"},
		{"rand_int", "random_int", 2, "two insertions"},
		{"kitten", "sitting", 3, "the textbook case"},
		{"é", "e", 1, "runes, not bytes"},
	}
	for _, tc := range tests {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Distance(%q, %q) = %d, want %d", tc.why, tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("%s: not symmetric", tc.why)
		}
	}
}
