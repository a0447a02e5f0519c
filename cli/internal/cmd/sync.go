package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/spf13/cobra"
)

func init() { register(newSync) }

// syncResult is sync's JSON result: what was (or, under --dry-run, would be) transferred
// and deleted; files already identical are only counted.
type syncResult struct {
	Source      string      `json:"source"`
	Destination string      `json:"destination"`
	Transfers   []*transfer `json:"transfers"`
	Transferred int         `json:"transferred"`
	Deleted     int         `json:"deleted"`
	Unchanged   int         `json:"unchanged"`
	Bytes       int64       `json:"bytes"`
}

type syncOptions struct {
	delete  bool
	filters filters
}

func newSync(app *App) *cobra.Command {
	var o syncOptions
	c := &cobra.Command{
		Use:   "sync SOURCE DESTINATION",
		Short: "Make a prefix match a local directory, or a local directory match a prefix",
		Long: `Copy what differs from a local directory to an s3:// prefix, or from a prefix to a local
directory. A file differs when its size does, or its CRC64NVME does from the store's
full-object checksum (objects stored without one are compared by size and ETag). Files are
transferred in parallel (--parallel), large ones in resumable multipart parts; a second sync
with nothing changed transfers nothing.

--delete also removes from DESTINATION what SOURCE does not have (within the --include and
--exclude selection). --dry-run lists what would be transferred and deleted.`,
		Example: `  artifactctl sync ./site s3://www/site/
  artifactctl sync ./dist s3://releases/app/1.4.2 --delete --exclude '*.map'
  artifactctl sync s3://releases/app/1.4.2 ./mirror --include '**/*.tgz' --dry-run
  artifactctl sync ./site s3://www/site/ --delete -o json`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return runSync(c.Context(), app, args, &o)
		},
	}
	c.Flags().BoolVar(&o.delete, "delete", false, "remove from DESTINATION what SOURCE does not have")
	addFilterFlags(c, &o.filters)
	app.addDryRun(c)
	return c
}

func runSync(ctx context.Context, app *App, args []string, o *syncOptions) error {
	src, err := parseLocation(args[0])
	if err != nil {
		return err
	}
	dst, err := parseLocation(args[1])
	if err != nil {
		return err
	}
	if src.remote() == dst.remote() || src.Local == "-" || dst.Local == "-" {
		return output.Usagef("sync takes a local directory and an s3:// prefix, one each")
	}
	client, err := app.Client(ctx)
	if err != nil {
		return err
	}
	var local []localFile
	localDir := src.Local
	if dst.remote() {
		info, err := os.Stat(src.Local)
		if err != nil {
			return err
		}
		if !info.IsDir() {
			return output.Usagef("%s is not a directory (use cp for one file)", src.Local)
		}
	} else {
		localDir = dst.Local
	}
	if info, err := os.Stat(localDir); err == nil && info.IsDir() {
		if local, err = walkLocal(localDir, &o.filters); err != nil {
			return err
		}
	}
	prefix := src
	if dst.remote() {
		prefix = dst
	}
	remote, err := listRemote(ctx, client, prefix.Bucket, prefix.Key, &o.filters)
	if err != nil {
		return err
	}
	plan, err := planSync(local, remote, src, dst, o.delete)
	if err != nil {
		return err
	}
	x := newExecutor(app, client, false)
	// Same-size pairs need their checksums compared; that reads local files and HEADs objects,
	// so it runs in parallel too, before anything is sent.
	err = runAll(ctx, len(plan), app.settings.Parallel, func(ctx context.Context, i int) error {
		return x.decide(ctx, plan[i])
	})
	if err != nil {
		return err
	}
	result := &syncResult{Source: src.String(), Destination: dst.String(), Transfers: []*transfer{}}
	var todo []*transfer
	for _, t := range plan {
		switch {
		case t.Skipped:
			result.Unchanged++
			continue
		case t.Action == actionDelete:
			result.Deleted++
		default:
			result.Transferred++
			result.Bytes += t.Size
		}
		todo = append(todo, t)
	}
	result.Transfers = append(result.Transfers, todo...)
	if !app.dryRun {
		x.bar = newProgress(app.printer, result.Bytes, "sync")
		err = runAll(ctx, len(todo), app.settings.Parallel, func(ctx context.Context, i int) error {
			return x.run(ctx, todo[i])
		})
		x.bar.done()
		if err != nil {
			interrupted(app, err)
			return err
		}
	}
	return app.printer.Result(result, app.dryRun, func(w io.Writer) {
		if app.printer.Quiet {
			return
		}
		printTransfers(w, todo, app.dryRun)
		if !app.dryRun {
			fmt.Fprintf(w, "%d transferred, %d deleted, %d unchanged\n", result.Transferred, result.Deleted, result.Unchanged)
		}
	})
}

// planSync pairs local files and objects by relative path: what only the source has, or
// has with another size, is sent; same-size pairs are marked for a checksum comparison
// (decide); with del, what only the destination has is deleted.
func planSync(local []localFile, remote []remoteObject, src, dst location, del bool) ([]*transfer, error) {
	var plan []*transfer
	if dst.remote() {
		have := map[string]remoteObject{}
		for _, r := range remote {
			have[r.Rel] = r
		}
		for _, f := range local {
			to := under(dst, f.Rel)
			t := &transfer{Action: actionUpload, Source: f.Path, Destination: to.String(), Size: f.Size,
				src: location{Local: f.Path}, dst: to}
			if r, ok := have[f.Rel]; ok && r.Size == f.Size {
				t.SkipReason = "compare"
			}
			delete(have, f.Rel)
			plan = append(plan, t)
		}
		if del {
			for _, r := range remote {
				if _, extra := have[r.Rel]; extra {
					to := location{Bucket: dst.Bucket, Key: r.Key}
					plan = append(plan, &transfer{Action: actionDelete, Source: to.String(), Destination: to.String(),
						Size: r.Size, dst: to})
				}
			}
		}
		return plan, nil
	}
	have := map[string]localFile{}
	for _, f := range local {
		have[f.Rel] = f
	}
	for _, r := range remote {
		from := location{Bucket: src.Bucket, Key: r.Key}
		to, err := safeUnder(dst, r.Rel)
		if err != nil {
			return nil, err
		}
		t := &transfer{Action: actionDownload, Source: from.String(), Destination: to.String(), Size: r.Size,
			src: from, dst: to}
		if f, ok := have[r.Rel]; ok && f.Size == r.Size {
			t.SkipReason = "compare"
		}
		delete(have, r.Rel)
		plan = append(plan, t)
	}
	if del {
		for _, f := range local {
			if _, extra := have[f.Rel]; extra {
				to := location{Local: f.Path}
				plan = append(plan, &transfer{Action: actionDelete, Source: f.Path, Destination: f.Path, Size: f.Size, dst: to})
			}
		}
	}
	return plan, nil
}

// decide compares a same-size pair's contents; identical ones are skipped.
func (x *executor) decide(ctx context.Context, t *transfer) error {
	if t.SkipReason != "compare" {
		return nil
	}
	t.SkipReason, t.checked = "", true
	var info *artifactstore.ObjectInfo
	var localPath string
	var err error
	if t.Action == actionUpload {
		info, err = headOrNil(ctx, x.client, t.dst.Bucket, t.dst.Key)
		localPath = t.src.Local
	} else {
		info, err = headOrNil(ctx, x.client, t.src.Bucket, t.src.Key)
		localPath = t.dst.Local
	}
	if err != nil || info == nil {
		return err
	}
	same, how, err := sameContent(localPath, t.Size, info, x.partSize)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(localPath), err)
	}
	if same {
		t.Skipped, t.SkipReason, t.ETag = true, how, trimETag(info.ETag)
	}
	return nil
}
