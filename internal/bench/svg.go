package main

import (
	"fmt"
	"html"
	"io"
	"slices"
)

// colors gives each server one color in every chart; ours stands out and
// raw, the ceiling, recedes.
var colors = map[string]string{
	"ours":    "#1565c0",
	"gorilla": "#8d6e63",
	"coder":   "#43a047",
	"gobwas":  "#fb8c00",
	"gws":     "#8e24aa",
	"nbio":    "#00897b",
	"raw":     "#bdbdbd",
}

// Chart geometry, in pixels.
const (
	svgWidth   = 1260
	svgColumns = 6
	panelW     = svgWidth / svgColumns
	panelH     = 150
	plotTop    = 40 // room for the panel's title and value labels
	plotBottom = 18 // room for the baseline
)

// writeSVG draws the echo matrix as two grids of small bar charts, one
// panel per cell with one bar per server, each panel scaled to its own
// largest bar: messages/s, then server CPU per message. Compressed cells
// follow the others, labelled with their mode.
func writeSVG(w io.Writer, res *results) {
	cells := append(slices.Clone(res.Echo), res.Compressed...)
	if len(cells) == 0 {
		fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>`+"\n")
		return
	}
	names := echoNames(cells)
	rows := (len(cells) + svgColumns - 1) / svgColumns
	sectionH := 30 + rows*panelH
	height := 70 + 2*sectionH + 10
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n", svgWidth, height, svgWidth, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	kind := "full run"
	if res.Meta.Quick {
		kind = "quick run"
	}
	fmt.Fprintf(w, `<text x="10" y="22" font-size="16" font-weight="bold">WebSocket echo servers, %s, median of %d rounds (%s, %d CPUs, %s)</text>`+"\n",
		kind, res.Meta.Rounds, html.EscapeString(res.Meta.Go), res.Meta.CPUs, html.EscapeString(res.Meta.Date[:10]))
	// Legend.
	x := 10
	for _, name := range names {
		fmt.Fprintf(w, `<rect x="%d" y="34" width="12" height="12" fill="%s"/><text x="%d" y="45" font-size="12">%s</text>`+"\n", x, colors[name], x+16, name)
		x += 30 + 8*len(name)
	}
	y := 70
	section(w, cells, names, y, "Messages per second (higher is better)", echoSample.rate, count)
	y += sectionH
	section(w, cells, names, y, "Server CPU per message, µs (lower is better)", echoSample.serverUS, sig)
	fmt.Fprintln(w, "</svg>")
}

func section(w io.Writer, cells []echoCellResult, names []string, top int, title string, f func(echoSample) float64, format func(float64) string) {
	fmt.Fprintf(w, `<text x="10" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", top+16, html.EscapeString(title))
	for i, r := range cells {
		px := (i % svgColumns) * panelW
		py := top + 26 + (i/svgColumns)*panelH
		panel(w, px, py, r, names, f, format)
	}
}

// panel draws one cell's bars.
func panel(w io.Writer, px, py int, r echoCellResult, names []string, f func(echoSample) float64, format func(float64) string) {
	st := echoStats(r, f)
	c := r.Cell
	label := fmt.Sprintf("%s · %d conn · %s", sizeName(c.Size), c.Conns, c.mode())
	fmt.Fprintf(w, `<text x="%d" y="%d" font-size="11" font-weight="bold">%s</text>`+"\n", px+8, py+12, html.EscapeString(label))
	if c.Compression != compNone {
		fmt.Fprintf(w, `<text x="%d" y="%d" font-size="10" fill="#c62828">deflate, %s</text>`+"\n", px+8, py+24, html.EscapeString(c.Compression))
	}
	// Scale to the largest WebSocket server: raw, the ceiling, can be
	// ten times faster and would flatten the rest; its bar is cut off.
	top := 0.0
	for _, name := range names {
		if name != "raw" || len(names) == 1 {
			top = max(top, st[name].value)
		}
	}
	plotH := panelH - plotTop - plotBottom
	base := py + panelH - plotBottom
	slot := (panelW - 16) / len(names)
	barW := slot - 4
	for j, name := range names {
		bx := px + 8 + j*slot
		s := st[name]
		if !s.ok || top == 0 {
			fmt.Fprintf(w, `<text x="%d" y="%d" font-size="9" text-anchor="middle">n/a</text>`+"\n", bx+barW/2, base-2)
			continue
		}
		h, text := int(float64(plotH)*s.value/top), format(s.value)
		if h > plotH+plotH/8 {
			h, text = plotH+plotH/8, "↑"+text
		}
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s: %s</title></rect>`+"\n",
			bx, base-h, barW, h, colors[name], name, format(s.value))
		fmt.Fprintf(w, `<text x="%d" y="%d" font-size="8.5" text-anchor="middle">%s</text>`+"\n", bx+barW/2, base-h-3, text)
	}
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-width="1"/>`+"\n", px+6, base, px+panelW-8, base)
}
