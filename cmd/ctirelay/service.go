package main

import (
	"github.com/spf13/cobra"
)

// defaultServiceName is the Windows service's name unless --name says.
const defaultServiceName = "ctirelay"

// newServiceCmd manages the relay as a Windows service (service_windows.go);
// elsewhere it says to use systemd (docs/ctirelay.service).
func newServiceCmd(env *cli) *cobra.Command {
	var name string
	c := &cobra.Command{
		Use:   "service",
		Short: "install, remove, start or stop the relay as a Windows service",
		Long: `Install, remove, start or stop the relay as a Windows service. Started by the
service manager, ctirelay runs the command it was installed with (normally
"run --config FILE") and stops cleanly on a service stop or a system shutdown.

  ctirelay service install -- run --config C:\ctirelay\ctirelay.yaml
  ctirelay service start
  ctirelay service stop
  ctirelay service uninstall

On Linux use the systemd unit docs/ctirelay.service instead.`,
	}
	c.PersistentFlags().StringVar(&name, "name", defaultServiceName, "the service's name")
	install := &cobra.Command{
		Use:   "install -- ARGS...",
		Short: "register the service, to run this binary with ARGS (e.g. run --config FILE)",
		Args:  cobra.MinimumNArgs(1),
		RunE:  func(_ *cobra.Command, args []string) error { return installService(env, name, args) },
	}
	for _, sub := range []*cobra.Command{
		install,
		{Use: "uninstall", Short: "remove the service", Args: noArgs,
			RunE: func(*cobra.Command, []string) error { return controlService(env, name, "uninstall") }},
		{Use: "start", Short: "start the service", Args: noArgs,
			RunE: func(*cobra.Command, []string) error { return controlService(env, name, "start") }},
		{Use: "stop", Short: "stop the service (the relay finishes its commands first)", Args: noArgs,
			RunE: func(*cobra.Command, []string) error { return controlService(env, name, "stop") }},
	} {
		c.AddCommand(sub)
	}
	return c
}
