package cmd

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/artifact-store/artifact-store/clients/go/api"
	"github.com/spf13/cobra"
)

func init() { register(newVerify) }

// verifyResult is `verify`'s JSON result: the gateway's verdict, the offline check with
// --key, and whether it all passed (exit 0) or not (exit 4, the reasons listed).
type verifyResult struct {
	Bucket           string           `json:"bucket"`
	Key              string           `json:"key"`
	Passed           bool             `json:"passed"`
	Reasons          []string         `json:"reasons"`
	SHA256           string           `json:"sha256,omitempty"`
	Signed           bool             `json:"signed"`
	RequireSignature bool             `json:"requireSignature"`
	SBOMValid        bool             `json:"sbomValid"`
	Signatures       []verifiedRef    `json:"signatures"`
	SBOMs            []verifiedRef    `json:"sboms"`
	Attestations     []verifiedRef    `json:"attestations"`
	Checked          time.Time        `json:"checked"`
	Local            *localVerifyInfo `json:"local,omitempty"`
}

// verifiedRef is one referrer as the verdict judged it.
type verifiedRef struct {
	Digest        string `json:"digest"`
	Valid         bool   `json:"valid"`
	Trusted       bool   `json:"trusted,omitempty"`
	Signer        string `json:"signer,omitempty"`
	PredicateType string `json:"predicateType,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// localVerifyInfo is the offline check with --key: the object hashed here, each signature
// bundle checked with the public key.
type localVerifyInfo struct {
	PublicKey string `json:"publicKey"`
	Valid     bool   `json:"valid"`
	SHA256    string `json:"sha256,omitempty"`
	Checked   int    `json:"checked"`
	Reason    string `json:"reason,omitempty"`
}

func newVerify(app *App) *cobra.Command {
	var keyFile string
	var requireSBOM bool
	c := &cobra.Command{
		Use:   "verify s3://BUCKET/KEY",
		Short: "Check an object's signatures (and SBOMs): exit 0 when it passes, 4 when not",
		Long: `verify asks the store for its verdict on the object's current version: it passes when a
signature by a key or identity the bucket trusts covers the object's SHA-256 (and, with
--require-sbom, a valid SBOM is attached). With --key it also checks offline: the object is
downloaded and hashed here and a signature must verify with that public key.

Exit 0 when it passes; exit 4 when it does not, with the reasons printed (in JSON, the result's
'passed' is false and 'reasons' says why).`,
		Example: `  artifactctl verify s3://releases/app/1.0/app.tar.gz
  artifactctl verify --key release.pem.pub s3://releases/app/1.0/app.tar.gz
  artifactctl verify --require-sbom -o json s3://releases/app/1.0/app.tar.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			loc, err := parseObject(args[0])
			if err != nil {
				return err
			}
			var publicKey any
			if keyFile != "" {
				data, err := os.ReadFile(keyFile)
				if err != nil {
					return fmt.Errorf("--key: %w", err)
				}
				if publicKey, err = artifactstore.ParsePublicKeyPEM(data); err != nil {
					return output.Usagef("--key %s: %v", keyFile, err)
				}
			}
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			verdict, err := client.Verify(c.Context(), loc.Bucket, loc.Key)
			if err != nil {
				return err
			}
			result := verdictResult(verdict, requireSBOM)
			if publicKey != nil {
				local, err := client.VerifyLocal(c.Context(), loc.Bucket, loc.Key, publicKey)
				if err != nil {
					return err
				}
				result.Local = &localVerifyInfo{PublicKey: keyFile, Valid: local.Valid, SHA256: local.SHA256,
					Checked: local.Checked, Reason: local.Reason}
				if !local.Valid {
					result.Passed = false
					result.Reasons = append(result.Reasons, "with "+keyFile+": "+local.Reason)
				}
			}
			if err := app.printer.Result(result, false, func(w io.Writer) { printVerdict(w, app, loc, result) }); err != nil {
				return err
			}
			if !result.Passed {
				return &output.Reported{Code: output.ExitVerification,
					Msg: "verification failed: " + strings.Join(result.Reasons, "; ")}
			}
			return nil
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "also check offline with this PEM public key")
	c.Flags().BoolVar(&requireSBOM, "require-sbom", false, "fail unless a valid SBOM is attached too")
	return c
}

// verdictResult turns the gateway's verdict into the result, deciding whether it passed.
func verdictResult(v *api.VerdictInfo, requireSBOM bool) verifyResult {
	r := verifyResult{Bucket: v.Bucket, Key: v.Key, Signed: v.Signed, RequireSignature: v.RequireSignature,
		SBOMValid: v.SbomValid, Checked: v.Checked.UTC(), Reasons: []string{},
		Signatures: []verifiedRef{}, SBOMs: []verifiedRef{}, Attestations: []verifiedRef{}}
	if v.Sha256 != nil {
		r.SHA256 = *v.Sha256
	}
	for _, s := range v.Signatures {
		ref := verifiedRef{Digest: s.Digest, Valid: s.Verified, Trusted: s.Trusted, Reason: deref(s.Reason)}
		if s.Signer != nil {
			ref.Signer = first(deref(s.Signer.Name), deref(s.Signer.Subject), string(s.Signer.Kind))
		}
		r.Signatures = append(r.Signatures, ref)
	}
	for _, s := range v.Sboms {
		r.SBOMs = append(r.SBOMs, verifiedRef{Digest: s.Digest, Valid: s.Valid, Reason: deref(s.Reason)})
	}
	for _, a := range v.Attestations {
		r.Attestations = append(r.Attestations, verifiedRef{Digest: a.Digest, Valid: a.Verified, Trusted: a.Trusted,
			PredicateType: deref(a.PredicateType), Reason: deref(a.Reason)})
	}
	if !v.Signed {
		reason := first(deref(v.Reason), "no trusted signature covers the object")
		r.Reasons = append(r.Reasons, reason)
		for _, s := range r.Signatures {
			if s.Reason != "" {
				r.Reasons = append(r.Reasons, "signature "+s.Digest+": "+s.Reason)
			}
		}
	}
	if requireSBOM && !v.SbomValid {
		r.Reasons = append(r.Reasons, "no valid SBOM is attached")
	}
	r.Passed = len(r.Reasons) == 0
	return r
}

func printVerdict(w io.Writer, app *App, loc location, r verifyResult) {
	if r.Passed {
		if app.printer.Quiet {
			return
		}
		signers := []string{}
		for _, s := range r.Signatures {
			if s.Valid && s.Trusted && s.Signer != "" {
				signers = append(signers, s.Signer)
			}
		}
		fmt.Fprintf(w, "%s: verified (signed by %s)\n", loc, first(strings.Join(signers, ", "), "a trusted signer"))
		if r.Local != nil {
			fmt.Fprintf(w, "%s: verified offline with %s (sha256 %s)\n", loc, r.Local.PublicKey, r.Local.SHA256)
		}
		return
	}
	fmt.Fprintf(w, "%s: NOT verified\n", loc)
	for _, reason := range r.Reasons {
		fmt.Fprintf(w, "  - %s\n", reason)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
