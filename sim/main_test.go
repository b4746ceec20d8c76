package sim_test

import (
	"os"
	"testing"

	"github.com/enrollsim/enrollsim/sim/chromium"
)

// testBrowser serves every case of this test binary that signs in through
// the browser; Chromium starts on the first such case, one process in all.
var testBrowser = chromium.New("")

func TestMain(m *testing.M) {
	code := m.Run()
	testBrowser.Close()
	os.Exit(code)
}
