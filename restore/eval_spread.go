package main

import (
	"image"
	"math"
	"sort"

	"github.com/restorekit/restore/sdk"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
)

// spreadBins is how many equal shares of an image's pixels, ranked by the
// spread map, the spread–skill comparison pools (deciles).
const spreadBins = 10

// spreadBin is one share of an image's pixels ranked by the map: the sums,
// over its pixels, of the variance the map predicts (its square, scaled as
// for calibration) and of the squared error (the mean over the three
// channels), and its pixel count.
type spreadBin struct{ variance, squaredError, pixels float64 }

// spreadScore is how a spread map fares against a result's actual error
// (see spreadScores).
type spreadScore struct {
	calibration, corr, nll float64
	bins                   [spreadBins]spreadBin
}

// spreadScores scores a standard-deviation map (8-bit levels per pixel, as
// host.Result.Std holds it) of k samples against the result's error.
//
// calibration is RMS error / (RMS spread · √(1 + 1/k)): the mean of k draws
// from a posterior misses the truth by their standard deviation times
// √(1 + 1/k); an estimate with samples drawn beside it (k = +Inf) by their
// spread about it, which host.Result.Std then holds. So 1 is a map as large
// as the errors and more is an overconfident one. corr is the correlation
// over pixels of the spread with the RMS (over channels) error: whether the
// map points at the errors. nll weighs both: the mean over values (pixels
// and channels) of the negative log-likelihood of the error under a Gaussian
// whose variance is the map's (times 1 + 1/k) plus the 8-bit rounding's
// 1/12, in nats; lower is better, and it rewards a map that is large where
// the errors are and small elsewhere (a proper scoring rule, which a single
// ratio is not).
//
// bins ranks the pixels by the map and pools them in tenths (spread–skill,
// as weather forecasts are verified): in each, a calibrated map's RMS
// predicted error equals the RMS error. A pixel's own error is one draw, so
// the correlation over pixels stays low even for a perfect map whose values
// vary little; the tenths average that draw away and keep only whether the
// map's contrasts are the errors' (see spreadSlope).
func spreadScores(clean, result image.Image, std *sdk.Tensor, k float64) spreadScore {
	want, _, _ := rgb8(clean)
	got, w, h := rgb8(result)
	var sc spreadScore
	if w*h != std.H*std.W {
		sc.calibration, sc.corr, sc.nll = math.NaN(), math.NaN(), math.NaN()
		return sc
	}
	n := w * h
	e2s := make([]float64, n) // per pixel, the mean over channels
	var se, ss, sx, sy, sxx, syy, sxy, sl float64
	for p := range n {
		var e2 float64
		for c := range 3 {
			d := got[c][p] - want[c][p]
			e2 += d * d
		}
		x := float64(std.Data[p])
		v := x*x*(1+1/k) + 1.0/12
		sl += 3*0.5*math.Log(2*math.Pi*v) + e2/(2*v)
		e2 /= 3
		e2s[p] = e2
		y := math.Sqrt(e2)
		se += e2
		ss += x * x
		sx, sy, sxx, syy, sxy = sx+x, sy+y, sxx+x*x, syy+y*y, sxy+x*y
	}
	fn := float64(n)
	sc.calibration = math.Sqrt(se / (ss * (1 + 1/k)))
	sc.corr = (sxy/fn - sx/fn*sy/fn) / math.Sqrt((sxx/fn-sx/fn*sx/fn)*(syy/fn-sy/fn*sy/fn))
	sc.nll = sl / (3 * fn)

	order := make([]int, n)
	for p := range order {
		order[p] = p
	}
	sort.SliceStable(order, func(a, b int) bool { return std.Data[order[a]] < std.Data[order[b]] })
	for r, p := range order {
		b := &sc.bins[r*spreadBins/n]
		x := float64(std.Data[p])
		b.variance += x * x * (1 + 1/k)
		b.squaredError += e2s[p]
		b.pixels++
	}
	return sc
}

// slope is spreadSlope of the score's own bins.
func (sc spreadScore) slope() float64 { return spreadSlope(sc.bins[:]) }

// spreadSlope fits log RMS error against log RMS predicted error over the
// bins (least squares), each mean square with the 8-bit rounding's 1/12
// added (so that pixels copied exactly stay finite): 1 when the errors grow
// as the map does, from its lowest tenth of pixels to its highest; 0 when
// the map does not say where the errors are; below 1 when it exaggerates
// its contrasts. NaN when fewer than two bins differ in the map.
func spreadSlope(bins []spreadBin) float64 {
	var xs, ys []float64
	for _, b := range bins {
		if b.pixels == 0 {
			continue
		}
		xs = append(xs, 0.5*math.Log(b.variance/b.pixels+1.0/12))
		ys = append(ys, 0.5*math.Log(b.squaredError/b.pixels+1.0/12))
	}
	if len(xs) < 2 || floats.Max(xs)-floats.Min(xs) < 1e-6 {
		return math.NaN()
	}
	_, slope := stat.LinearRegression(xs, ys, nil, false)
	return slope
}

// spreadSkill is one tenth of the pixels ranked by the map, pooled over a
// row's images: the map's RMS predicted error there and the RMS error, in
// 8-bit levels.
type spreadSkill struct {
	Spread metric `json:"spread"`
	Error  metric `json:"error"`
}

// poolSpreadBins adds up the rows' bins, tenth by tenth; nil when no row has
// a map.
func poolSpreadBins(rows []evalRow) []spreadBin {
	var pooled []spreadBin
	for _, row := range rows {
		if row.spreadBins[0].pixels == 0 {
			continue
		}
		if pooled == nil {
			pooled = make([]spreadBin, spreadBins)
		}
		for i, b := range row.spreadBins {
			pooled[i].variance += b.variance
			pooled[i].squaredError += b.squaredError
			pooled[i].pixels += b.pixels
		}
	}
	return pooled
}

// skillOf turns pooled bins into RMS values.
func skillOf(bins []spreadBin) []spreadSkill {
	var out []spreadSkill
	for _, b := range bins {
		if b.pixels > 0 {
			out = append(out, spreadSkill{metric(math.Sqrt(b.variance / b.pixels)), metric(math.Sqrt(b.squaredError / b.pixels))})
		}
	}
	return out
}
