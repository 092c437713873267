package suggest

import "testing"

func TestClosest(t *testing.T) {
	words := []string{"denoise", "deblur", "inpaint"}
	tests := []struct{ in, want string }{
		{"denoize", "denoise"},
		{"debler", "deblur"},
		{"inpant", "inpaint"},
		{"superresolution", ""},
	}
	for _, tc := range tests {
		if got := Closest(tc.in, words); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
