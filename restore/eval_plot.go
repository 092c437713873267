package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sort"
	"strconv"
)

// taskPlot is what psnrPlot draws for one task: mean PSNR over network
// evaluations, one series per method.
type taskPlot struct {
	task      string
	inputPSNR float64
	series    []plotSeries
}

// plotSeries is one method's line.
type plotSeries struct {
	name string
	pts  []plotPoint
}

// plotPoint is one row of the table: evaluations and mean PSNR.
type plotPoint struct{ x, y float64 }

// add puts a row on the plot, under its method's line.
func (p *taskPlot) add(method string, r *evalReport) {
	p.inputPSNR = float64(r.InputPSNR)
	x, y := float64(r.Steps), float64(r.PSNR)
	if math.IsNaN(y) || math.IsInf(y, 0) {
		return
	}
	for i := range p.series {
		if p.series[i].name == method {
			p.series[i].pts = append(p.series[i].pts, plotPoint{x, y})
			return
		}
	}
	p.series = append(p.series, plotSeries{name: method, pts: []plotPoint{{x, y}}})
}

// plotColors are the series' colours, in order.
var plotColors = []color.NRGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
}

// psnrPlot draws PSNR versus network evaluations: a line with markers per
// method, axes with tick labels and a legend.
func psnrPlot(p taskPlot) *image.NRGBA {
	title := fmt.Sprintf("%s: PSNR vs network evaluations (input %.2f dB)", p.task, p.inputPSNR)
	return linePlot(p, title, "network evaluations", "PSNR (dB)", false)
}

// spreadPlot draws the spread–skill diagram of the rows that drew samples:
// per tenth of the pixels ranked by the map, the RMS error against the map's
// RMS, one line per method and budget, beside the diagonal of a calibrated
// map.
func spreadPlot(task string, reps []*evalReport) *image.NRGBA {
	p := taskPlot{task: task}
	for _, r := range reps {
		if len(r.SpreadSkill) == 0 {
			continue
		}
		s := plotSeries{name: fmt.Sprintf("%s, %d evaluations", r.Method, r.Steps)}
		for _, b := range r.SpreadSkill {
			s.pts = append(s.pts, plotPoint{float64(b.Spread), float64(b.Error)})
		}
		p.series = append(p.series, s)
	}
	if len(p.series) == 0 {
		return nil
	}
	return linePlot(p, task+": RMS error per tenth of the pixels ranked by the spread map",
		"map's RMS spread (8-bit levels)", "RMS error (8-bit levels)", true)
}

// linePlot draws p's series as lines with markers, axes with tick labels
// and a legend; with square, both axes share one range and the diagonal
// y = x is drawn.
func linePlot(p taskPlot, title, xLabel, yLabel string, square bool) *image.NRGBA {
	const width, height = 640, 400
	const left, right, top, bottom = 64, 20, 44, 48
	const inset = 10 // keeps markers off the axes
	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(paper), image.Point{}, draw.Src)

	var xs, ys []float64
	for i := range p.series {
		pts := p.series[i].pts
		sort.Slice(pts, func(a, b int) bool { return pts[a].x < pts[b].x })
		for _, pt := range pts {
			xs = append(xs, pt.x)
			ys = append(ys, pt.y)
		}
	}
	xMin := 1.0 // evaluations are counts
	if square {
		xs = append(xs, ys...)
		ys, xMin = xs, 0
	}
	xTicks, xLo, xHi, xPrec := axisTicks(xs, xMin)
	yTicks, yLo, yHi, yPrec := axisTicks(ys, 0)
	px0, px1 := left+inset, width-right-inset
	py0, py1 := height-bottom-inset, top+inset
	mapX := func(x float64) int { return px0 + int(math.Round((x-xLo)/(xHi-xLo)*float64(px1-px0))) }
	mapY := func(y float64) int { return py0 + int(math.Round((y-yLo)/(yHi-yLo)*float64(py1-py0))) }

	grid := color.NRGBA{0xe4, 0xe4, 0xe4, 0xff}
	axis := color.NRGBA{0x40, 0x40, 0x40, 0xff}
	for _, t := range xTicks {
		x := mapX(t)
		fillRect(img, image.Rect(x, top, x+1, height-bottom), grid)
		fillRect(img, image.Rect(x, height-bottom, x+1, height-bottom+5), axis)
		s := strconv.FormatFloat(t, 'f', xPrec, 64)
		drawText(img, x-textWidth(s)/2, height-bottom+18, s, ink)
	}
	for _, t := range yTicks {
		y := mapY(t)
		fillRect(img, image.Rect(left, y, width-right, y+1), grid)
		fillRect(img, image.Rect(left-5, y, left, y+1), axis)
		s := strconv.FormatFloat(t, 'f', yPrec, 64)
		drawText(img, left-8-textWidth(s), y+5, s, ink)
	}
	fillRect(img, image.Rect(left, top, left+1, height-bottom+1), axis)
	fillRect(img, image.Rect(left, height-bottom, width-right, height-bottom+1), axis)

	drawText(img, (width-textWidth(title))/2, 16, title, ink)
	drawText(img, 8, top-8, yLabel, ink)
	drawText(img, left+(width-right-left-textWidth(xLabel))/2, height-10, xLabel, ink)
	if square {
		drawLine(img, mapX(xLo), mapY(yLo), mapX(xHi), mapY(yHi), axis)
	}

	for i, s := range p.series {
		c := plotColors[i%len(plotColors)]
		for j := 1; j < len(s.pts); j++ {
			drawLine(img, mapX(s.pts[j-1].x), mapY(s.pts[j-1].y), mapX(s.pts[j].x), mapY(s.pts[j].y), c)
		}
		for _, pt := range s.pts {
			drawMarker(img, mapX(pt.x), mapY(pt.y), i, c)
		}
	}

	// The legend, in the corner of the plot with the fewest points under it.
	if len(p.series) > 0 {
		w := 0
		for _, s := range p.series {
			w = max(w, textWidth(s.name))
		}
		w += 44
		h := len(p.series)*lineHeight + 8
		var x0, y0 int
		best := -1
		for _, corner := range []image.Point{{width - right - w - 6, height - bottom - h - 6}, {width - right - w - 6, top + 6},
			{left + 8, top + 6}, {left + 8, height - bottom - h - 6}} {
			box, n := image.Rect(corner.X-6, corner.Y-6, corner.X+w+6, corner.Y+h+6), 0
			for _, s := range p.series {
				for _, pt := range s.pts {
					if (image.Point{mapX(pt.x), mapY(pt.y)}).In(box) {
						n++
					}
				}
			}
			if best < 0 || n < best {
				best, x0, y0 = n, corner.X, corner.Y
			}
		}
		fillRect(img, image.Rect(x0, y0, x0+w, y0+h), axis)
		fillRect(img, image.Rect(x0+1, y0+1, x0+w-1, y0+h-1), paper)
		for i, s := range p.series {
			c := plotColors[i%len(plotColors)]
			y := y0 + 4 + i*lineHeight + lineHeight/2
			drawLine(img, x0+6, y, x0+30, y, c)
			drawMarker(img, x0+18, y, i, c)
			drawText(img, x0+36, y+5, s.name, ink)
		}
	}
	return img
}

// axisTicks picks about five round tick values spanning vs and returns them
// with the axis's range and the decimals their labels need. Ticks are
// multiples of at least minStep (1 for counts; 0 for no minimum).
func axisTicks(vs []float64, minStep float64) (ticks []float64, lo, hi float64, prec int) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	if len(vs) == 0 {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-9 {
		d := max(math.Abs(lo)*0.05, 0.5, minStep)
		lo, hi = lo-d, hi+d
	}
	step := max(niceStep((hi-lo)/5), minStep)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	for t := lo; t <= hi+step/2; t += step {
		ticks = append(ticks, math.Round(t/step)*step)
	}
	prec = max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	return ticks, lo, hi, prec
}

// niceStep rounds a raw tick spacing up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if !(raw > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// fillRect paints r in c.
func fillRect(img draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// drawLine draws a 2-pixel-wide line from (x0, y0) to (x1, y1).
func drawLine(img draw.Image, x0, y0, x1, y1 int, c color.Color) {
	n := max(absInt(x1-x0), absInt(y1-y0))
	for i := 0; i <= n; i++ {
		t := 0.0
		if n > 0 {
			t = float64(i) / float64(n)
		}
		x := x0 + int(math.Round(t*float64(x1-x0)))
		y := y0 + int(math.Round(t*float64(y1-y0)))
		fillRect(img, image.Rect(x-1, y-1, x+1, y+1), c)
	}
}

// drawMarker draws series i's marker at (x, y): a disc, square, diamond or
// triangle, in turn.
func drawMarker(img draw.Image, x, y, i int, c color.Color) {
	const r = 4
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			var in bool
			switch i % 4 {
			case 0:
				in = dx*dx+dy*dy <= r*r
			case 1:
				in = absInt(dx) <= r-1 && absInt(dy) <= r-1
			case 2:
				in = absInt(dx)+absInt(dy) <= r
			case 3:
				in = dy >= -r && 2*absInt(dx) <= dy+r
			}
			if in {
				img.Set(x+dx, y+dy, c)
			}
		}
	}
}

// absInt is |v|.
func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
