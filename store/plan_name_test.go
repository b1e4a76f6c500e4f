package store

import (
	"slices"
	"testing"
)

func TestMatchPlan(t *testing.T) {
	plans := []string{"Demo shop, standard mix", "shop", "Shop admin", "payments API", "partners API", "x-ray 2"}
	for _, tc := range []struct {
		why, name, want string
		ambiguous       []string
	}{
		{"an exact name wins over prefixes of others", "shop", "shop", nil},
		{"any case, when only one matches so", "SHOP ADMIN", "Shop admin", nil},
		{"a unique prefix", "Shop a", "Shop admin", nil},
		{"a prefix that two names share", "Sh", "", []string{"shop", "Shop admin"}},
		{"a word's prefix", "stand", "Demo shop, standard mix", nil},
		{"several words", "standard mix", "Demo shop, standard mix", nil},
		{"a word of two names", "api", "", []string{"payments API", "partners API"}},
		{"a unique word prefix", "pay", "payments API", nil},
		{"a word after punctuation", "ray", "x-ray 2", nil},
		{"digits are words", "2", "x-ray 2", nil},
		{"nothing", "inventory", "", nil},
		{"blank", "  ", "", nil},
		{"inside a word is no match", "hop", "", nil},
	} {
		got, amb := MatchPlan(plans, tc.name)
		if got != tc.want || !slices.Equal(amb, tc.ambiguous) {
			t.Errorf("%s: MatchPlan(%q) = %q, %q; want %q, %q", tc.why, tc.name, got, amb, tc.want, tc.ambiguous)
		}
	}
}
