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
// integration would, and with --wait prints the answers.
func sendCmd(ctx context.Context, env *cli, args []string) error {
	fs := newFlags(env, "send", "FRAME [FRAME…]")
	var common commonFlags
	common.register(fs)
	wait := fs.Duration("wait", 5*time.Second, "wait this long for each reply (0: do not wait)")
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
	head := int64(0)
	if *wait > 0 {
		if head, err = db.JournalHead(ctx); err != nil {
			return err
		}
	}
	msgs := make([]relay.Inbound, fs.NArg())
	for i, raw := range fs.Args() {
		msgs[i] = relay.Inbound{Source: relay.SourceCLI, Ref: strconv.Itoa(os.Getpid()), Raw: raw}
	}
	results, err := db.Enqueue(ctx, msgs, time.Now(), cfg.Engine.MaxFrameBytes)
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	pending := map[int64]string{}
	failed := 0
	for i, r := range results {
		if r.Err != nil {
			failed++
			fmt.Fprintf(env.stdout, "rejected %s: %s %s\n", fs.Arg(i), r.Err.Code, r.Err.Message)
			continue
		}
		if *wait == 0 {
			fmt.Fprintf(env.stdout, "queued %s as inbox id %d\n", fs.Arg(i), r.ID)
		}
		pending[r.ID] = fs.Arg(i)
	}
	if *wait > 0 && len(pending) > 0 {
		if err := awaitReplies(ctx, env, db, head, pending, *wait); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d frames rejected", failed, len(results))
	}
	return nil
}

// awaitReplies follows the journal until every pending command is answered.
func awaitReplies(ctx context.Context, env *cli, db relay.Operators, after int64, pending map[int64]string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for len(pending) > 0 {
		entries, err := db.Journal(ctx, after, 1000)
		if err != nil {
			return fmt.Errorf("read journal: %w", err)
		}
		for _, e := range entries {
			after = e.ID
			if e.Kind == relay.KindReply {
				if _, ok := pending[e.InboxID]; ok {
					fmt.Fprintln(env.stdout, e.Frame)
					delete(pending, e.InboxID)
				}
			}
		}
		if len(pending) == 0 || len(entries) == 1000 {
			continue
		}
		if time.Now().After(deadline) {
			ids := make([]string, 0, len(pending))
			for id := range pending {
				ids = append(ids, strconv.FormatInt(id, 10))
			}
			return errors.New("no reply within " + wait.String() + " (is a relay running?); still queued as inbox id " + strings.Join(ids, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
