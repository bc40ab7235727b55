package synth

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Entry is one frame of a corpus: enough to render it again.
type Entry struct {
	File      string
	Condition Condition
	// Seed is the seed Draw was given (Shot.Seed is RenderSeed of it).
	Seed uint64
	Shot Shot
}

// Corpus draws perCond frames with a code and noCode without one for each
// condition, seeds first, first+1, … (per condition, so that adding a
// condition leaves the others' frames alone).
func Corpus(first uint64, perCond, noCode int) ([]Entry, error) {
	var out []Entry
	for _, c := range Conditions() {
		for i := 0; i < perCond+noCode; i++ {
			seed := first + uint64(i)
			empty := i >= perCond
			s, err := Draw(c, seed, empty)
			if err != nil {
				return nil, err
			}
			out = append(out, Entry{FileName(c, seed, empty), c, seed, s})
		}
	}
	return out, nil
}

const manifestHeader = "# file\tcondition\tseed\tparameters\texpected text (empty: no code)"

// WriteManifest writes entries as a tab-separated manifest, one frame a
// line, after a comment naming the columns.
func WriteManifest(w io.Writer, preamble string, entries []Entry) error {
	bw := bufio.NewWriter(w)
	for _, l := range strings.Split(strings.TrimSpace(preamble), "\n") {
		if l != "" {
			fmt.Fprintf(bw, "# %s\n", l)
		}
	}
	fmt.Fprintln(bw, manifestHeader)
	for _, e := range entries {
		fmt.Fprintf(bw, "%s\t%s\t%d\t%s\t%s\n", e.File, e.Condition, e.Seed, e.Shot.Params(), e.Shot.Text)
	}
	return bw.Flush()
}

// ReadManifest reads WriteManifest's format; lines starting with # are
// comments. A row whose file name does not match its condition, seed and
// text is an error, so names stay honest.
func ReadManifest(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	names := map[string]bool{}
	for sc.Scan() {
		line++
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		cols := strings.Split(l, "\t")
		if len(cols) != 5 {
			return nil, fmt.Errorf("synth: manifest line %d: %d columns, want 5", line, len(cols))
		}
		c, err := ParseCondition(cols[1])
		if err != nil {
			return nil, fmt.Errorf("synth: manifest line %d: %w", line, err)
		}
		seed, err := strconv.ParseUint(cols[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("synth: manifest line %d: seed: %w", line, err)
		}
		s, err := ParseParams(cols[3], cols[4], RenderSeed(c, seed))
		if err != nil {
			return nil, fmt.Errorf("synth: manifest line %d: %w", line, err)
		}
		if want := FileName(c, seed, cols[4] == ""); cols[0] != want {
			return nil, fmt.Errorf("synth: manifest line %d: file %q, want %q", line, cols[0], want)
		}
		if names[cols[0]] {
			return nil, fmt.Errorf("synth: manifest line %d: %s listed twice", line, cols[0])
		}
		names[cols[0]] = true
		out = append(out, Entry{cols[0], c, seed, s})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("synth: reading manifest: %w", err)
	}
	return out, nil
}
