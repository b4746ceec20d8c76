//go:build !unix

package refserver

import "os/exec"

// Without Unix process groups only socat itself is killed; the children it
// forked end with their connections, which Close ends.
func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
