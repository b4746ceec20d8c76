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
	code := cli.Execute(ctx, cli.NewFactory(version), os.Args[1:])
	stop()
	os.Exit(code)
}
