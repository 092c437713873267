package sdk

import "math/rand/v2"

// RNG is the deterministic random source plugins use, so that a seed gives the
// same result in process and out of process.
type RNG struct {
	r *rand.Rand
}

// NewRNG returns a generator seeded by seed (PCG, from math/rand/v2).
func NewRNG(seed uint64) *RNG {
	return &RNG{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// Normal returns a standard normal variate.
func (g *RNG) Normal() float64 { return g.r.NormFloat64() }

// Float returns a uniform variate in [0, 1).
func (g *RNG) Float() float64 { return g.r.Float64() }

// Noise returns a tensor of the given shape filled with standard normal variates times scale.
func (g *RNG) Noise(c, h, w int, scale float64) *Tensor {
	t := NewTensor(c, h, w)
	for i := range t.Data {
		t.Data[i] = float32(g.r.NormFloat64() * scale)
	}
	return t
}
