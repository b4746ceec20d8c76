package cli

import "sync"

// issued holds every credential the embedded servers of this test binary
// minted (embeddedIssued), for the leak tests.
var issued struct {
	mu  sync.Mutex
	all []string
}

func init() {
	// Set before any test starts a server, and never changed: runs in
	// parallel read it without a race.
	embeddedIssued = func(credential string) {
		issued.mu.Lock()
		issued.all = append(issued.all, credential)
		issued.mu.Unlock()
	}
}

func issuedCredentials() []string {
	issued.mu.Lock()
	defer issued.mu.Unlock()
	return append([]string(nil), issued.all...)
}
