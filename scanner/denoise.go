package scanner

// Sensor noise is what derails the pipeline on a cheap camera in a dim
// venue: with σ above a few grey levels, every 8×8 block of a flat wall has
// "contrast", the local threshold cuts through the noise, and the rows fill
// with short runs, some of them in 1:1:3:1:1. The finder scan then visits
// every one of them, the gate passes on chance triples, and gozxing runs on
// frames that hold nothing. So the noise is estimated once per frame and,
// when it is high, the frame is smoothed before it is binarized, and the
// contrast a block needs to count as more than flat grows with the noise.

// box3 smooths p with the 3×3 binomial kernel (1 2 1 across, 1 2 1 down,
// /16) into *buf (grown once and reused): it divides the noise's σ by 2.7
// and, unlike a box, keeps some contrast in modules of 1.5 to 2 pixels
// (half of it at 2). Row by row with box3Row (kernels.go).
func box3(p plane, buf *[]byte) plane {
	w, h := p.w, p.h
	if cap(*buf) < w*h {
		*buf = make([]byte, w*h)
	}
	out := (*buf)[:w*h]
	for y := 0; y < h; y++ {
		box3Row(p.y[max(y-1, 0)*p.stride:][:w], p.y[y*p.stride:][:w], p.y[min(y+1, h-1)*p.stride:][:w], out[y*w:y*w+w])
	}
	return plane{y: out, w: w, h: h, stride: w}
}

// binomial is box3's pixel x, one at a time, edges repeated.
func binomial(ra, rb, rc []byte, x int) byte {
	w := len(rb)
	l, r := max(x-1, 0), min(x+1, w-1)
	col := func(i int) int { return int(ra[i]) + 2*int(rb[i]) + int(rc[i]) }
	return byte((col(l) + 2*col(x) + col(r)) >> 4)
}

// quietQuantile is the share of blocks taken as the quiet background: a
// code fills at most about half of a frame, edges and texture some more.
const quietQuantile = 4 // 1/4

// rangeQuantile is the contrast (max-min) of the block at 1/quietQuantile
// of the blocks sorted by contrast, from their histogram: on a camera
// frame, what noise (and fine texture) alone give an 8×8 block.
func rangeQuantile(hist *[256]int32, n int) int { return histQuantile(hist, n/quietQuantile) }

// histQuantile is the value of the (k+1)-th smallest entry of a histogram.
func histQuantile(hist *[256]int32, k int) int {
	q, acc := int32(k), int32(0)
	for v, c := range hist {
		acc += c
		if acc > q {
			return v
		}
	}
	return 255
}

// noiseFloor is the contrast a block needs to count as more than flat when
// quiet blocks show q: the largest of many noise-only blocks reaches about
// 1.4 times the typical one (64 Gaussian samples span about 4.8σ, the
// widest of thousands of blocks 6.5σ). Capped so that a busy scene does
// not make a code's blocks (contrast 85 and more even when dim) flat.
func noiseFloor(q int) int { return min(q*7/5, noiseFloorCap) }

const noiseFloorCap = 64

// quietRange is rangeQuantile over every quietRowStep-th block row of p:
// the contrast a quiet 8×8 block of this frame shows, from a sample, before
// deciding whether to smooth it. It uses b's row statistics buffers, and
// leaves the sample's mean level in b.lum and the contrast of its busiest
// tenth of blocks in b.contrast (for Hint).
func (b *binImage) quietRange(p plane) int {
	b.resize(p.w, p.h)
	if p.w < blockSize || p.h < blockSize {
		return 0
	}
	var hist [256]int32
	n, sum := 0, 0
	for y0 := blockSize; y0+blockSize <= p.h; y0 += quietRowStep * blockSize {
		blockStats(p.y[y0*p.stride:], p.stride, p.w, b.ssum, b.slo, b.shi)
		for bx := range b.bw {
			lo, hi := b.slo[bx], b.shi[bx]
			hist[hi-lo]++
			sum += int(b.ssum[bx])
			n++
		}
	}
	if n == 0 {
		b.lum, b.contrast = 0, 0
		return 0
	}
	b.lum = sum / (n * blockSize * blockSize)
	b.contrast = histQuantile(&hist, n*9/10)
	return histQuantile(&hist, n/quietQuantile)
}

const quietRowStep = 8

// noisyRange is the quiet blocks' contrast from which a frame is smoothed
// (box3) before it is binarized: an 8×8 block of Gaussian noise spans about
// 4.8σ, so 13 is σ 2.7, or a little fine texture. The public photos, clean,
// mostly show 0-11; every camera-model frame shows more. Below it smoothing
// would only cost time and blur small modules.
const noisyRange = 13

// noisyMax: quiet blocks with more contrast than this are not noise (σ 16
// with texture gives about 90) but a frame filled by a code or a busy
// high-contrast scene, which the raw passes read as before.
const noisyMax = 120
