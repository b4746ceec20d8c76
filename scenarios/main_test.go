package scenarios_test

import (
	"os"
	"testing"

	"github.com/enrollsim/enrollsim/sim/chromium"
)

// testBrowser signs in the cases whose pages need JavaScript (the js-*
// faults of the negative suite); Chromium starts on the first of them.
var testBrowser = chromium.New("")

// fullSweep: with ENROLLSIM_TEST_SWEEP=full (make test-full) the slow
// end-to-end sweeps play every case; the default make test keeps a share
// of each that still proves its point (issue 29).
func fullSweep() bool { return os.Getenv("ENROLLSIM_TEST_SWEEP") == "full" }

func TestMain(m *testing.M) {
	code := m.Run()
	testBrowser.Close()
	os.Exit(code)
}
