// Command enrollsim plays Apple devices through account-driven MDM
// enrollment against a server and checks every step.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/enrollsim/enrollsim/internal/cli"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal cancels the run, which then writes its reports and
	// exits 130; a second one gets the default behaviour and ends the
	// process at once, should anything still hang.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.Execute(ctx, cli.NewFactory(version), os.Args[1:])
	stop()
	os.Exit(code)
}
