package display

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// renderQR encodes text as a QR code and returns it as an SVG document: one
// unit per module, the 4-module quiet zone included, black on white (phone
// scanners expect dark-on-light), scaled by the page with crisp edges.
func renderQR(text string) (string, error) {
	hints := map[gozxing.EncodeHintType]any{
		// M survives a glare spot on a glossy screen better than the default L
		// and a challenge id is short enough that the code stays coarse.
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_MARGIN:           4,
	}
	// Width and height 0: one pixel per module, no scaling by the encoder.
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return "", fmt.Errorf("encoding QR code: %w", err)
	}
	w, h := m.GetWidth(), m.GetHeight()
	var b strings.Builder
	b.Grow(64 + w*h/2)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="QR code" class="qr" viewBox="0 0 `)
	b.WriteString(strconv.Itoa(w))
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(h))
	b.WriteString(`" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="`)
	// One horizontal run of dark modules = one rectangle.
	for y := 0; y < h; y++ {
		for x := 0; x < w; {
			if !m.Get(x, y) {
				x++
				continue
			}
			start := x
			for x < w && m.Get(x, y) {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}
