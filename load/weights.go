package load

import "math"

// cumulativeWeights returns the running sums of the scenarios' weights,
// for a uniform draw below the last. Negative weights count as zero; when
// every weight is zero the scenarios are equally likely. The sums never
// overflow: weights whose total would pass 2⁶² are all shifted right
// together (a positive weight stays at least 1), which keeps their ratios
// to within the precision a draw can tell apart.
func cumulativeWeights(ws []int) []uint64 {
	const limit = math.MaxUint64 >> 2
	cum := make([]uint64, len(ws))
	for shift := uint(0); ; shift++ {
		var sum uint64
		fits := true
		for i, w := range ws {
			if w > 0 {
				v := max(uint64(w)>>shift, 1)
				if v > limit-sum {
					fits = false
					break
				}
				sum += v
			}
			cum[i] = sum
		}
		if fits {
			break
		}
	}
	if len(cum) > 0 && cum[len(cum)-1] == 0 {
		for i := range cum {
			cum[i] = uint64(i) + 1
		}
	}
	return cum
}

// pickIndex returns the index whose share of cum holds r (r < the total).
func pickIndex(cum []uint64, r uint64) int {
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r < cum[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
