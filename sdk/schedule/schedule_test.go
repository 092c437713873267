package schedule

import "testing"

func TestSigmas(t *testing.T) {
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			s, err := Sigmas(name, 10, 2, 0.01, 7)
			if err != nil {
				t.Fatal(err)
			}
			if s[0] != 2 || s[9] != 0.01 {
				t.Fatalf("ends %g, %g", s[0], s[9])
			}
			for i := 1; i < len(s); i++ {
				if !(s[i] < s[i-1]) {
					t.Fatalf("not decreasing at %d: %v", i, s)
				}
			}
		})
	}
	if _, err := Sigmas("nope", 3, 1, 0.1, 7); err == nil {
		t.Fatal("unknown schedule accepted")
	}
	if _, err := Sigmas(Karras, 3, 0.1, 1, 7); err == nil {
		t.Fatal("inverted range accepted")
	}
}
