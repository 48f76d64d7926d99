// Command linnix is the command line of otelcol-linnix for someone logged
// into a host: it follows lifecycle events and incidents, lists and shows
// incidents, shows the heaviest processes full-screen, and checks that the
// host and a config can run the collector. It reads the insights API that
// the collector's linnix_insights exporter serves on loopback.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the API failed or refused, unknown incident, a doctor check failed
	exitUsage = 2 // bad flags or arguments
)

const defaultAddr = insightsapi.DefaultEndpoint

// options are the global flags.
type options struct {
	addr    string
	token   string
	noColor bool
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
}

func (o *options) client() *apiClient { return newAPIClient(o.addr, o.token) }

func (o *options) styles() styles { return newStyles(o.stdout, !o.noColor) }

// usageError marks errors in how linnix was called.
type usageError struct{ error }

// silentError is a failure already reported on the output (a failed doctor
// check): only the exit code is left to give.
var silentError = errors.New("")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := &options{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCommand(o)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, silentError):
		return exitError
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "linnix: %v\nRun 'linnix --help' for usage.\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "linnix: %v\n", err)
	return exitError
}

func newRootCommand(o *options) *cobra.Command {
	root := &cobra.Command{
		Use:   "linnix",
		Short: "Follow a host's process events and incidents from otelcol-linnix",
		Long: `linnix reads the insights API that otelcol-linnix serves when its config has
the linnix_insights exporter (examples/default.yaml enables it on ` + defaultAddr + `).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// A root that runs reports an unknown command as a usage error
		// instead of cobra's generic one.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q", args[0])}
			}
			return cmd.Help()
		},
	}
	addr := os.Getenv("LINNIX_ADDR")
	if addr == "" {
		addr = defaultAddr
	}
	root.PersistentFlags().StringVar(&o.addr, "addr", addr, "address of the insights API, host:port or an http(s) URL (env LINNIX_ADDR)")
	root.PersistentFlags().StringVar(&o.token, "token", os.Getenv("LINNIX_TOKEN"), "bearer token of the insights API (env LINNIX_TOKEN)")
	root.PersistentFlags().BoolVar(&o.noColor, "no-color", false, "print without colours (also when NO_COLOR is set or the output is not a terminal)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newTailCommand(o), newIncidentsCommand(o), newShowCommand(o), newTopCommand(o),
		newStatsCommand(o), newDoctorCommand(o))
	return root
}

// exactArgs is cobra.ExactArgs with the usage exit code.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
