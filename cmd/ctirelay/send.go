package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctirelay/ctirelay/relay"
)

// sendOptions are send's flags.
type sendOptions struct {
	common commonFlags
	wait   time.Duration
}

func newSendCmd(env *cli) *cobra.Command {
	var o sendOptions
	c := &cobra.Command{
		Use:   "send FRAME...",
		Short: "enqueue a command frame, e.g. ctirelay send '<jose><S>$'",
		Long: `Enqueue command frames into the durable queue (source "cli"), as any
integration would, and print each reply (--wait 0: print the inbox ids and
return at once). A relay must be running for commands to be answered.

Replies are printed in the order of the frames. Exit status: 0 every frame
queued and answered without ERR; 1 any frame refused, answered ERR or not
answered in time; 2 usage.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name at least one frame, e.g. ctirelay send '<jose><S>$'")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return sendCmd(cmd.Context(), env, &o, args) },
	}
	o.common.register(c.Flags())
	c.Flags().DurationVar(&o.wait, "wait", 5*time.Second, "wait this long for the replies (0: do not wait)")
	return c
}

// sendCmd enqueues frames into the durable queue (source "cli"), as any
// integration would, and with --wait prints the answers, in argument order.
//
// Exit status: 0 when every frame was queued and (with --wait) answered
// without ERR; 1 when any was refused, answered ERR or not answered in
// time; 2 for a usage error.
func sendCmd(ctx context.Context, env *cli, o *sendOptions, frames []string) error {
	cfg, db, err := o.common.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	feed, err := newFeed(db, cfg, 0, relay.SystemClock{}, nil)
	if err != nil {
		return err
	}
	// The feed outlives an interrupt until send has marked what it queued
	// (Stop is deferred); Submit is not cut short by it either, so the ids
	// of what was taken are always known.
	if err := feed.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer feed.Stop()
	msgs := make([]relay.Inbound, len(frames))
	for i, raw := range frames {
		msgs[i] = relay.Inbound{Source: relay.SourceCLI, Ref: strconv.Itoa(os.Getpid()), Raw: raw}
	}
	pending, err := feed.Submit(context.WithoutCancel(ctx), msgs)
	if err != nil {
		return err
	}
	abandon := func() error {
		// Interrupted before the answers, the ids unprinted: a dial
		// still queued must not run later on nobody's behalf.
		for _, q := range pending {
			q.Abandon()
		}
		return ctx.Err()
	}
	if ctx.Err() != nil {
		return abandon()
	}
	wctx, cancel := context.WithTimeout(ctx, o.wait)
	defer cancel()
	refused, errs := 0, 0
	var unanswered []string
	for i, p := range pending {
		switch {
		case p.Err != nil:
			refused++
			fmt.Fprintf(env.stdout, "rejected %s: %s %s\n", frames[i], p.Err.Code, p.Err.Message)
			continue
		case o.wait == 0:
			fmt.Fprintf(env.stdout, "queued %s as inbox id %d\n", frames[i], p.ID)
			continue
		}
		replies, err := p.Wait(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return abandon()
			}
			unanswered = append(unanswered, strconv.FormatInt(p.ID, 10))
			continue
		}
		failed := false
		for _, e := range replies {
			failed = failed || e.Outcome == relay.OutcomeErr
			fmt.Fprintln(env.stdout, e.Frame)
		}
		if failed {
			errs++
		}
	}
	switch {
	case len(unanswered) > 0:
		return errors.New("no reply within " + o.wait.String() + " (is a relay running?); still queued as inbox id " + strings.Join(unanswered, ", "))
	case refused > 0:
		return fmt.Errorf("%d of %d frames rejected", refused, len(pending))
	case errs > 0:
		return fmt.Errorf("%d of %d frames answered ERR", errs, len(pending))
	}
	return nil
}
