//go:build windows

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// underServiceManager runs main under the service control manager when it
// started the process: a stop or shutdown request ends run's context, as
// SIGTERM does elsewhere. ok is false for a process started otherwise.
func underServiceManager(env *cli, main func(ctx context.Context) int) (code int, ok bool) {
	if is, err := svc.IsWindowsService(); err != nil || !is {
		return 0, false
	}
	// A service has no console: the log goes to ctirelay.log beside the
	// binary.
	if exe, err := os.Executable(); err == nil {
		if f, err := os.OpenFile(filepath.Join(filepath.Dir(exe), "ctirelay.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			env.stdout, env.stderr = f, f
		}
	}
	h := &serviceHandler{main: main}
	if err := svc.Run(defaultServiceName, h); err != nil {
		return 1, true
	}
	return h.code, true
}

type serviceHandler struct {
	main func(ctx context.Context) int
	code int
}

// Execute implements svc.Handler.
func (h *serviceHandler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- h.main(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				// The engine finishes its commands: tell the manager to wait.
				status <- svc.Status{State: svc.StopPending, WaitHint: 60_000}
				cancel()
			}
		case h.code = <-done:
			return false, uint32(h.code)
		}
	}
}

func installService(env *cli, name string, args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("service install: %w", err)
	}
	exe, _ = filepath.Abs(exe)
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service install: connect to the service manager (run as administrator): %w", err)
	}
	defer m.Disconnect()
	s, err := m.CreateService(name, exe, mgr.Config{
		DisplayName: "ctirelay", Description: "ctirelay: ERP and Protheus to telephone switch relay",
		StartType: mgr.StartAutomatic, DelayedAutoStart: true,
	}, args...)
	if err != nil {
		return fmt.Errorf("service install: %w", err)
	}
	defer s.Close()
	_ = s.SetRecoveryActions([]mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second}, {Type: mgr.ServiceRestart, Delay: 30 * time.Second},
	}, 86400)
	fmt.Fprintf(env.stdout, "service %s installed: %s %s\n", name, exe, strings.Join(args, " "))
	return nil
}

func controlService(env *cli, name, what string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service %s: connect to the service manager (run as administrator): %w", what, err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("service %s: %w", what, err)
	}
	defer s.Close()
	switch what {
	case "uninstall":
		err = s.Delete()
	case "start":
		err = s.Start()
	case "stop":
		_, err = s.Control(svc.Stop)
	}
	if err != nil {
		return fmt.Errorf("service %s: %w", what, err)
	}
	fmt.Fprintf(env.stdout, "service %s: %s done\n", name, what)
	return nil
}
