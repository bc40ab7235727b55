// Package demoframes holds sample camera frames for the demo and for tests
// of the whole pipeline: 640×480 grey PNGs made by
// scanner/internal/genframes (see frames/README.md), embedded so that a
// binary or a test can use them without files on disk.
//
// The codes are demo codes, safe to publish: CodeA and CodeC are the ones a
// demo stand-in server should know (valid), CodeB the one it must not
// (unknown).
package demoframes

import (
	"bytes"
	"embed"
	"fmt"
	"image"
	"image/png"
	"io/fs"
)

// The demo codes (SHA-256 of "kioskd demo code A", "… B", "… C").
const (
	// CodeA is a valid code, shown in two frames in a row.
	CodeA = "3186215257041c5e811efc4fa4fcea5850e818842ca09abe5b8a2a661169050b"
	// CodeB is an unknown code: the server must not have it.
	CodeB = "ad1b60cc691f794758f03e03ab2a617504fc1cda1f4809336dd85029a2d0d692"
	// CodeC is a valid code shown light-on-dark, as on a dark-mode phone.
	CodeC = "e558ad9e611f107a2d15a4dba335e8675603e9e68d1cefec717a8b279446be6c"
	// URL is the text of the QR code that is not a kiosk code.
	URL = "https://example.org/tickets/help"
)

// Frame is one sample frame: what it shows, what decoding it should give.
type Frame struct {
	Name string // file name, e.g. "01-code-a.png"
	// Text is the QR text in the frame, "" for the frame without a QR.
	Text string
}

// List is the frames in replay order.
var list = [...]Frame{
	{"01-code-a.png", CodeA},
	{"02-code-a-again.png", CodeA},
	{"03-no-qr.png", ""},
	{"04-code-b-unknown.png", CodeB},
	{"05-url-not-a-code.png", URL},
	{"06-dark-mode-code-c.png", CodeC},
}

// List returns the frames in replay order with the text each holds.
func List() []Frame { return append([]Frame(nil), list[:]...) }

// Codes returns the demo codes: valid (A), unknown (B), dark (C, valid).
func Codes() (valid, unknown, dark string) { return CodeA, CodeB, CodeC }

// Known returns the codes a demo stand-in server must hold: A and C.
func Known() []string { return []string{CodeA, CodeC} }

//go:embed frames/*.png
var files embed.FS

// FS returns the frames as files (frames/NAME.png), e.g. to write them out
// for a dir: replay source.
func FS() fs.FS {
	sub, err := fs.Sub(files, "frames")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// NamedImage is a decoded frame.
type NamedImage struct {
	Name  string
	Text  string
	Image *image.Gray
}

// Frames decodes every frame, in replay order.
func Frames() ([]NamedImage, error) {
	out := make([]NamedImage, 0, len(list))
	for _, f := range list {
		data, err := fs.ReadFile(files, "frames/"+f.Name)
		if err != nil {
			return nil, fmt.Errorf("demoframes: %w", err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("demoframes: decoding %s: %w", f.Name, err)
		}
		g, ok := img.(*image.Gray)
		if !ok {
			return nil, fmt.Errorf("demoframes: %s is not a grey PNG", f.Name)
		}
		out = append(out, NamedImage{Name: f.Name, Text: f.Text, Image: g})
	}
	return out, nil
}
