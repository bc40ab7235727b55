package synth

import "testing"

func BenchmarkRender(b *testing.B) {
	for _, c := range Conditions() {
		b.Run(string(c), func(b *testing.B) {
			s, err := Draw(c, 1, false)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.Render(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
