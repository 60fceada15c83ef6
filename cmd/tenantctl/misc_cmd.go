package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/internal/cmd/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cmdutil.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if a.JSONOutput() {
				return a.PrintJSON(map[string]string{"version": version, "go": runtime.Version()})
			}
			fmt.Fprintf(a.IO.Out, "tenantctl %s (%s)\n", version, runtime.Version())
			return nil
		},
	}
}

func (a *app) eventsCmd() *cobra.Command {
	var slug string
	var limit int
	cmd := &cobra.Command{
		Use:   "events [--tenant SLUG] [--limit N]",
		Short: "Show the append-only event log: who changed what, when",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if slug != "" {
				if err := validate.Slug(slug); err != nil {
					return err
				}
			}
			store, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			events, err := store.ListEvents(cmd.Context(), slug, limit)
			if err != nil {
				return err
			}
			if a.JSONOutput() {
				return a.PrintJSON(events)
			}
			tw := a.Table("ID", "TIME", "ACTOR", "ACTION", "TENANT", "DETAILS")
			for _, e := range events {
				cmdutil.Row(tw, e.ID, e.At.Local().Format(time.DateTime), e.Actor, e.Action, cmdutil.Dash(e.Slug), cmdutil.CompactJSON(e.Details))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&slug, "tenant", "", "only this tenant's events")
	cmd.Flags().IntVar(&limit, "limit", 50, "most events to show, newest first")
	return cmd
}

func (a *app) jobsCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "jobs [--limit N]",
		Short: "Show recent job runs (scheduler and CLI)",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			jobs, err := store.ListJobs(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if a.JSONOutput() {
				return a.PrintJSON(jobs)
			}
			tw := a.Table("ID", "JOB", "NODE", "STARTED", "DURATION", "STATUS", "COUNTS", "ERROR")
			for _, j := range jobs {
				dur := "-"
				if j.FinishedAt != nil {
					dur = j.FinishedAt.Sub(j.StartedAt).Round(time.Millisecond).String()
				}
				cmdutil.Row(tw, j.ID, j.Job, j.Node, j.StartedAt.Local().Format(time.DateTime), dur, j.Status, cmdutil.CompactJSON(j.Counts), cmdutil.Dash(j.Error))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "most job runs to show, newest first")
	return cmd
}
