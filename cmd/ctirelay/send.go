package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// sendCmd enqueues frames into the durable queue (source "cli"), as any
// integration would, and with --wait prints the answers, in argument order.
//
// Exit status: 0 when every frame was queued and (with --wait) answered
// without ERR; 1 when any was refused, answered ERR or not answered in
// time; 2 for a usage error.
func sendCmd(ctx context.Context, env *cli, args []string) error {
	fs := newFlags(env, "send", "FRAME [FRAME…]")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprintln(env.stderr, "\nReplies are printed in the order of the frames. Exit status: 0 every frame queued and\n"+
			"answered without ERR; 1 any frame refused, answered ERR or not answered in time; 2 usage.")
	}
	var common commonFlags
	common.register(fs)
	wait := fs.Duration("wait", 5*time.Second, "wait this long for the replies (0: do not wait)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	cfg, db, err := common.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	feed, err := newFeed(db, cfg, 0, relay.SystemClock{}, nil)
	if err != nil {
		return err
	}
	if err := feed.Start(ctx); err != nil {
		return err
	}
	defer feed.Stop()
	msgs := make([]relay.Inbound, fs.NArg())
	for i, raw := range fs.Args() {
		msgs[i] = relay.Inbound{Source: relay.SourceCLI, Ref: strconv.Itoa(os.Getpid()), Raw: raw}
	}
	pending, err := feed.Submit(ctx, msgs)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	refused, errs := 0, 0
	var unanswered []string
	for i, p := range pending {
		switch {
		case p.Err != nil:
			refused++
			fmt.Fprintf(env.stdout, "rejected %s: %s %s\n", fs.Arg(i), p.Err.Code, p.Err.Message)
			continue
		case *wait == 0:
			fmt.Fprintf(env.stdout, "queued %s as inbox id %d\n", fs.Arg(i), p.ID)
			continue
		}
		replies, err := p.Wait(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
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
		return errors.New("no reply within " + wait.String() + " (is a relay running?); still queued as inbox id " + strings.Join(unanswered, ", "))
	case refused > 0:
		return fmt.Errorf("%d of %d frames rejected", refused, len(pending))
	case errs > 0:
		return fmt.Errorf("%d of %d frames answered ERR", errs, len(pending))
	}
	return nil
}
