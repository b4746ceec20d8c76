package sim_test

import (
	"os"
	"testing"

	"github.com/enrollsim/enrollsim/sim/chromium"
)

// testBrowser serves every case of this test binary that signs in through
// the browser; Chromium starts on the first such case, one process in all.
// The engines here take no screenshots (sim.Engine.NoScreenshots): these
// tests judge verdicts, and sim/chromium's and internal/cli's tests the
// pictures.
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
