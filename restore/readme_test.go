package main

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeExampleIsTheTestedPlugin keeps the README's plugin example and
// the code the tests build identical.
func TestReadmeExampleIsTheTestedPlugin(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../plugins/examples/euler/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+string(example)+"```") {
		t.Fatal("README's plugin example differs from plugins/examples/euler/main.go")
	}
	if n := strings.Count(string(example), "\n"); n >= 30 {
		t.Fatalf("the example has %d lines; the README promises under 30", n)
	}
}
