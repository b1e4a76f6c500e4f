package demo

import (
	"bytes"
	"strconv"
)

// The seeded data is a pure function of the index: the same Options always
// give the same shop, and UsersCSV can reproduce the credentials without a
// database. mix (SplitMix64's finalizer) stands in for a random generator
// whose sequence no library version can change.

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func mix2(a, b int) uint64 { return mix(mix(uint64(a)) ^ uint64(b)) }

func userEmail(i int) string    { return "user" + strconv.Itoa(i) + "@shop.example" }
func userPassword(i int) string { return "secret-" + strconv.Itoa(i) }

func userName(i int) string {
	first := [...]string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Frances", "Dennis",
		"Margaret", "Donald", "Radia", "Niklaus", "Hedy", "Leslie", "Katherine", "John"}
	last := [...]string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Allen",
		"Ritchie", "Hamilton", "Knuth", "Perlman", "Wirth", "Lamarr", "Lamport", "Johnson", "Backus"}
	h := mix2(i, 1)
	return first[h%uint64(len(first))] + " " + last[(h>>16)%uint64(len(last))]
}

// UsersCSV returns the content of a users file for the first n seeded users
// (a header line "email,password", then one line per user), ready for a
// plan's data feeder. A shop seeded with at least n users accepts every
// line.
func UsersCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("email,password\n")
	for i := 1; i <= n; i++ {
		b.WriteString(userEmail(i))
		b.WriteByte(',')
		b.WriteString(userPassword(i))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func seededProduct(i int) product {
	nouns := [...]string{"Chair", "Lamp", "Kettle", "Backpack", "Notebook", "Headphones", "Mug", "Jacket",
		"Keyboard", "Blanket"}
	adjectives := [...]string{"Classic", "Compact", "Deluxe", "Everyday", "Rugged", "Vintage", "Modern", "Travel"}
	materials := [...]string{"Oak", "Steel", "Wool", "Leather", "Bamboo"}
	k := i - 1
	name := adjectives[(k/len(nouns))%len(adjectives)] + " " +
		materials[(k/(len(nouns)*len(adjectives)))%len(materials)] + " " +
		nouns[k%len(nouns)]
	if combos := len(nouns) * len(adjectives) * len(materials); k >= combos {
		name += " " + strconv.Itoa(k/combos+1)
	}
	h := mix2(i, 2)
	return product{
		ID:         int64(i),
		Name:       name,
		PriceCents: int64(h%500)*100 + 99,        // $0.99 … $499.99
		Stock:      50_000 + int64(h>>32)%50_000, // enough for hours of checkouts
	}
}

type seedReview struct {
	userID, rating int
	body           string
}

func seededReviews(productID, users int) []seedReview {
	bodies := [...]string{
		"Does what it says.", "Would buy again.", "Arrived quickly, well packed.",
		"Not quite what I expected.", "Great value for the price.", "Broke after a week.",
		"Exactly as pictured.", "My second one; still happy.",
	}
	n := int(mix2(productID, 3) % 9) // 0–8 reviews
	out := make([]seedReview, 0, n)
	for j := range n {
		h := mix2(productID, 100+j)
		rating := 5 - int(h%9)/2 // 1–5, mostly good, as in real shops
		out = append(out, seedReview{
			userID: 1 + int((h>>8)%uint64(users)),
			rating: rating,
			body:   bodies[(h>>24)%uint64(len(bodies))],
		})
	}
	return out
}
