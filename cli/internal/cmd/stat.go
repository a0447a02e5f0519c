package cmd

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"
)

func init() { register(newStat) }

// statResult is stat's JSON result: what HEAD says of an object.
type statResult struct {
	Bucket       string            `json:"bucket"`
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"`
	ContentType  string            `json:"contentType,omitempty"`
	LastModified time.Time         `json:"lastModified"`
	VersionID    string            `json:"versionId,omitempty"`
	Metadata     map[string]string `json:"metadata"`
	Checksums    map[string]string `json:"checksums"`
	Referrers    referrerCounts    `json:"referrers"`
}

type referrerCounts struct {
	Signatures   int `json:"signatures"`
	SBOMs        int `json:"sboms"`
	Attestations int `json:"attestations"`
}

func newStat(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "stat s3://BUCKET/KEY",
		Short: "Show an object's size, ETag, type, metadata, checksums and referrer counts",
		Long: `Show what the store keeps about an object without fetching it (one HEAD): size, ETag,
content type, user metadata, the full-object checksums (base64, as S3 gives them) and how
many signatures, SBOMs and attestations are attached.`,
		Example: `  artifactctl stat s3://releases/app/app-1.4.2.tgz
  artifactctl stat s3://releases/app/app-1.4.2.tgz -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			loc, err := parseObject(args[0])
			if err != nil {
				return err
			}
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			info, err := client.Head(c.Context(), loc.Bucket, loc.Key)
			if err != nil {
				return err
			}
			r := statResult{Bucket: loc.Bucket, Key: loc.Key, Size: info.Size, ETag: trimETag(info.ETag),
				ContentType: info.ContentType, LastModified: info.LastModified.UTC(), VersionID: info.VersionID,
				Metadata: info.Metadata, Checksums: info.Checksums,
				Referrers: referrerCounts{info.Signatures, info.SBOMs, info.Attestations}}
			if r.Metadata == nil {
				r.Metadata = map[string]string{}
			}
			if r.Checksums == nil {
				r.Checksums = map[string]string{}
			}
			return app.printer.Result(r, false, func(w io.Writer) { printStat(w, &r) })
		},
	}
}

func printStat(w io.Writer, r *statResult) {
	fmt.Fprintf(w, "%-14s s3://%s/%s\n", "Object:", r.Bucket, r.Key)
	fmt.Fprintf(w, "%-14s %d\n", "Size:", r.Size)
	fmt.Fprintf(w, "%-14s %s\n", "ETag:", r.ETag)
	if r.ContentType != "" {
		fmt.Fprintf(w, "%-14s %s\n", "Content-Type:", r.ContentType)
	}
	fmt.Fprintf(w, "%-14s %s\n", "Last-Modified:", r.LastModified.Format(time.RFC3339))
	if r.VersionID != "" {
		fmt.Fprintf(w, "%-14s %s\n", "Version:", r.VersionID)
	}
	for _, name := range sortedKeys(r.Checksums) {
		fmt.Fprintf(w, "%-14s %s\n", "Checksum:", name+" "+r.Checksums[name])
	}
	for _, name := range sortedKeys(r.Metadata) {
		fmt.Fprintf(w, "%-14s %s=%s\n", "Metadata:", name, r.Metadata[name])
	}
	fmt.Fprintf(w, "%-14s %d signatures, %d SBOMs, %d attestations\n", "Referrers:",
		r.Referrers.Signatures, r.Referrers.SBOMs, r.Referrers.Attestations)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
