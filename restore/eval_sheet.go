package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// sheetWidth bounds each image's width on a contact sheet.
const sheetWidth = 320

// sheetRows are the images a contact sheet shows: the first cases of a task,
// restored with one method and budget.
type sheetRows struct {
	task, method, label string // label: solver + guidance
	evaluations         int
	rows                []sheetRow
}

// sheetRow is one case on a contact sheet.
type sheetRow struct {
	name                 string
	input, result, truth image.Image
	inputPSNR, psnr      float64
}

// Text and layout of the PNGs eval draws.
var (
	labelFace = basicfont.Face7x13
	ink       = color.NRGBA{0x20, 0x20, 0x20, 0xff}
	paper     = color.NRGBA{0xff, 0xff, 0xff, 0xff}
)

// lineHeight is the height of a line of text in the PNGs eval draws.
const lineHeight = 16

// contactSheet lays out input | result | truth per case, each image shrunk to
// at most sheetWidth pixels wide, with labels above.
func contactSheet(s *sheetRows) *image.NRGBA {
	const pad, gap = 8, 6
	type row struct {
		label string
		imgs  [3]image.Image
		h     int
	}
	var rows []row
	colW := [3]int{}
	for _, r := range s.rows {
		rr := row{label: fmt.Sprintf("%s: input %.2f dB, result %.2f dB", r.name, r.inputPSNR, r.psnr)}
		for i, im := range []image.Image{r.input, r.result, r.truth} {
			rr.imgs[i] = shrinkToWidth(im, sheetWidth)
			b := rr.imgs[i].Bounds()
			colW[i] = max(colW[i], b.Dx())
			rr.h = max(rr.h, b.Dy())
		}
		rows = append(rows, rr)
	}
	title := fmt.Sprintf("%s - %s: %s, %d evaluations", s.task, s.method, s.label, s.evaluations)
	heads := [3]string{"input", "result", "truth"}
	width := colW[0] + colW[1] + colW[2] + 2*gap
	width = max(width, textWidth(title))
	for _, r := range rows {
		width = max(width, textWidth(r.label))
	}
	height := 2 * lineHeight
	for _, r := range rows {
		height += lineHeight + r.h + gap
	}
	img := image.NewNRGBA(image.Rect(0, 0, width+2*pad, height+2*pad))
	draw.Draw(img, img.Bounds(), image.NewUniform(paper), image.Point{}, draw.Src)
	y := pad
	drawText(img, pad, y+lineHeight-4, title, ink)
	y += lineHeight
	x := pad
	for i, h := range heads {
		drawText(img, x+(colW[i]-textWidth(h))/2, y+lineHeight-4, h, ink)
		x += colW[i] + gap
	}
	y += lineHeight
	for _, r := range rows {
		drawText(img, pad, y+lineHeight-4, r.label, ink)
		y += lineHeight
		x := pad
		for i, im := range r.imgs {
			b := im.Bounds()
			draw.Draw(img, image.Rect(x, y, x+b.Dx(), y+b.Dy()), im, b.Min, draw.Src)
			x += colW[i] + gap
		}
		y += r.h + gap
	}
	return img
}

// shrinkToWidth scales img down to at most maxW pixels wide (Catmull–Rom, which
// filters over the whole footprint when shrinking); smaller images are kept.
func shrinkToWidth(img image.Image, maxW int) image.Image {
	b := img.Bounds()
	if b.Dx() <= maxW {
		return img
	}
	h := max(1, (b.Dy()*maxW+b.Dx()/2)/b.Dx())
	dst := image.NewNRGBA(image.Rect(0, 0, maxW, h))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
	return dst
}

// drawText draws s with its baseline at y, starting at x.
func drawText(dst draw.Image, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: labelFace, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// textWidth is how many pixels wide s is drawn.
func textWidth(s string) int { return font.MeasureString(labelFace, s).Ceil() }
