package scenarios_test

import (
	"os"
	"testing"

	"github.com/enrollsim/enrollsim/sim/chromium"
)

// testBrowser signs in the cases whose pages need JavaScript (the js-*
// faults of the negative suite); Chromium starts on the first of them.
var testBrowser = chromium.New("")

func TestMain(m *testing.M) {
	code := m.Run()
	testBrowser.Close()
	os.Exit(code)
}
