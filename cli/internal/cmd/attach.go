package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/spf13/cobra"
)

func init() { register(newAttach) }

// attachResult is `attach`'s JSON result.
type attachResult struct {
	Bucket    string         `json:"bucket"`
	Key       string         `json:"key"`
	Kind      string         `json:"kind"`
	MediaType string         `json:"mediaType"`
	File      string         `json:"file"`
	Size      int            `json:"size"`
	Referrer  *referrerEntry `json:"referrer,omitempty"`
}

var referrerKinds = []string{artifactstore.KindSBOM, artifactstore.KindAttestation, artifactstore.KindSignature}

func newAttach(app *App) *cobra.Command {
	var kind, file, mediaType string
	c := &cobra.Command{
		Use:   "attach s3://BUCKET/KEY --kind sbom|attestation|signature --file FILE",
		Short: "Attach an SBOM, an attestation or a signature to an object",
		Long: `attach stores a document as a referrer of the object (an OCI referrer of its manifest, so
OCI tools see it too). Attaching the same document again is no error: the referrer attached
before is returned.

Without --media-type it is read from the document: a CycloneDX or SPDX JSON SBOM, a DSSE
envelope for an attestation, a sigstore bundle for a signature.`,
		Example: `  artifactctl attach --kind sbom --file sbom.cdx.json s3://releases/app/1.0/app.tar.gz
  artifactctl attach --kind attestation --file provenance.dsse.json s3://releases/app/1.0/app.tar.gz
  # in CI
  artifactctl attach --quiet --kind sbom --media-type application/spdx+json --file sbom.spdx.json s3://releases/app.tar.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			loc, err := parseObject(args[0])
			if err != nil {
				return err
			}
			if !contains(referrerKinds, kind) {
				return output.Usagef("--kind must be sbom, attestation or signature, not %q", kind)
			}
			var document []byte
			if file == "-" {
				document, err = io.ReadAll(io.LimitReader(app.stdin, 8<<20))
			} else {
				document, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("--file: %w", err)
			}
			if mediaType == "" {
				if mediaType = guessMediaType(kind, document); mediaType == "" {
					return output.Usagef("cannot tell the media type of %s: pass --media-type", file)
				}
			}
			result := attachResult{Bucket: loc.Bucket, Key: loc.Key, Kind: kind, MediaType: mediaType, File: file, Size: len(document)}
			if !app.dryRun {
				client, err := app.Client(c.Context())
				if err != nil {
					return err
				}
				referrer, err := client.Attach(c.Context(), loc.Bucket, loc.Key, kind, mediaType, document)
				if err != nil {
					return err
				}
				entry := referrerOf(*referrer)
				result.Referrer = &entry
			}
			return app.printer.Result(result, app.dryRun, func(w io.Writer) {
				if app.printer.Quiet {
					return
				}
				fmt.Fprintf(w, "%sattach: %s (%s, %s) to %s", dryRunPrefix(app.dryRun), file, kind, mediaType, loc)
				if result.Referrer != nil {
					fmt.Fprintf(w, " as %s", result.Referrer.Digest)
				}
				fmt.Fprintln(w)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&kind, "kind", "", "sbom, attestation or signature (required)")
	f.StringVar(&file, "file", "", "the document to attach (\"-\": stdin) (required)")
	f.StringVar(&mediaType, "media-type", "", "its media type (default: read from the document)")
	_ = c.MarkFlagRequired("kind")
	_ = c.MarkFlagRequired("file")
	_ = c.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(referrerKinds, cobra.ShellCompDirectiveNoFileComp))
	app.addDryRun(c)
	return c
}

// guessMediaType tells a document's media type from its content, "" when it cannot.
func guessMediaType(kind string, document []byte) string {
	var doc map[string]any
	if json.Unmarshal(document, &doc) != nil {
		return ""
	}
	switch {
	case doc["bomFormat"] == "CycloneDX":
		return artifactstore.MediaTypeCycloneDX
	case doc["spdxVersion"] != nil:
		return artifactstore.MediaTypeSPDX
	case doc["payloadType"] != nil && doc["signatures"] != nil:
		return artifactstore.MediaTypeDSSE
	case doc["mediaType"] != nil && doc["verificationMaterial"] != nil:
		return artifactstore.MediaTypeBundle
	}
	switch kind {
	case artifactstore.KindSignature:
		return artifactstore.MediaTypeBundle
	case artifactstore.KindAttestation:
		return artifactstore.MediaTypeDSSE
	}
	return ""
}

func contains(values []string, v string) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}
