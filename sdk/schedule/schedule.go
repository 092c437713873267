// Package schedule holds the σ schedules solvers share: the noise levels a
// sampler visits on its way from σ_max down to σ_min.
package schedule

import (
	"fmt"
	"math"
)

// Names of the schedules, for a solver's "schedule" parameter.
const (
	Karras    = "karras"    // Karras et al. 2022, ρ = 7: dense near σ_min
	LogLinear = "loglinear" // geometric: equal steps in log σ
	VP        = "vp"        // the variance-preserving (DDPM) schedule expressed in σ
)

// Names lists the schedules.
var Names = []string{Karras, LogLinear, VP}

// Sigmas returns n noise levels from max down to min (n ≥ 1; n = 1 gives
// just max). rho is used by Karras only.
func Sigmas(name string, n int, max, min, rho float64) ([]float64, error) {
	if n < 1 {
		return nil, fmt.Errorf("schedule: %d steps", n)
	}
	if !(max > 0) || !(min > 0) || min > max {
		return nil, fmt.Errorf("schedule: bad range [%g, %g]", min, max)
	}
	s := make([]float64, n)
	if n == 1 {
		s[0] = max
		return s, nil
	}
	for i := range s {
		t := float64(i) / float64(n-1)
		switch name {
		case Karras:
			a, b := math.Pow(max, 1/rho), math.Pow(min, 1/rho)
			s[i] = math.Pow(a+t*(b-a), rho)
		case LogLinear:
			s[i] = math.Exp(math.Log(max) + t*(math.Log(min)-math.Log(max)))
		case VP:
			// σ(t) = sqrt(exp(β_d t²/2 + β_min t) − 1), with t running between the
			// values that give max and min (β_d = 19.9, β_min = 0.1, Song et al. 2021).
			const bd, bmin = 19.9, 0.1
			inv := func(sigma float64) float64 {
				c := math.Log(sigma*sigma + 1)
				return (-bmin + math.Sqrt(bmin*bmin+2*bd*c)) / bd
			}
			t0, t1 := inv(max), inv(min)
			u := t0 + t*(t1-t0)
			s[i] = math.Sqrt(math.Exp(bd*u*u/2+bmin*u) - 1)
		default:
			return nil, fmt.Errorf("schedule: unknown schedule %q", name)
		}
	}
	s[0], s[n-1] = max, min
	return s, nil
}
