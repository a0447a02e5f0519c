package cmd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/spf13/cobra"
)

func init() { register(newSign) }

// signResult is `sign`'s JSON result.
type signResult struct {
	Bucket       string         `json:"bucket,omitempty"`
	Key          string         `json:"key,omitempty"`
	KeyType      string         `json:"keyType"`
	Referrer     *referrerEntry `json:"referrer,omitempty"`
	GeneratedKey *generatedKey  `json:"generatedKey,omitempty"`
}

type generatedKey struct {
	PrivateKey string `json:"privateKey"` // the file's path, never its content
	PublicKey  string `json:"publicKey"`
}

func newSign(app *App) *cobra.Command {
	var keyFile, generate, keyType, localFile, digest string
	c := &cobra.Command{
		Use:   "sign [s3://BUCKET/KEY]",
		Short: "Sign an object with a private key (a sigstore bundle attached as its signature)",
		Long: `sign signs the object's SHA-256 with a PEM private key (PKCS#8 or SEC 1: ECDSA P-256 or
Ed25519) and attaches the sigstore bundle v0.3 as the object's signature referrer. The store
counts it once the matching public key is trusted by the bucket ('artifactctl trust add-key').

--generate-key FILE makes a new key pair first: FILE holds the private key (mode 0600) and
FILE.pub the public key. With no object it only makes the key pair.

What is signed is the object's SHA-256: by default the gateway's (or the object read and
hashed). --file names the local file that was uploaded, hashed here instead: use it when the
bucket requires a signature, because such a bucket refuses to hand out the unsigned object,
even to its signer. (--sha256 gives the digest itself.) A digest that is not the object's
makes a signature the store will not count.`,
		Example: `  # make a key pair once, trust its public key on the bucket, then sign
  artifactctl sign --generate-key release.pem
  artifactctl trust add-key s3://releases release release.pem.pub
  artifactctl sign --key release.pem s3://releases/app/1.0/app.tar.gz
  # in CI
  artifactctl cp dist/app.tar.gz s3://releases/app/1.0/app.tar.gz
  artifactctl sign --quiet --key "$SIGNING_KEY_FILE" --file dist/app.tar.gz s3://releases/app/1.0/app.tar.gz`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if (keyFile == "") == (generate == "") {
				return output.Usagef("give --key FILE or --generate-key FILE (one of them)")
			}
			if len(args) == 0 && generate == "" {
				return output.Usagef("sign needs s3://BUCKET/KEY")
			}
			if localFile != "" && digest != "" {
				return output.Usagef("give --file or --sha256, not both")
			}
			if digest != "" && !isSHA256Hex(digest) {
				return output.Usagef("--sha256 %q is not 64 hex digits", digest)
			}
			result := signResult{}
			if len(args) == 1 {
				loc, err := parseObject(args[0])
				if err != nil {
					return err
				}
				result.Bucket, result.Key = loc.Bucket, loc.Key
			}
			var signer *artifactstore.SigningKey
			if keyFile != "" {
				data, err := os.ReadFile(keyFile)
				if err != nil {
					return fmt.Errorf("--key: %w", err)
				}
				if signer, err = artifactstore.ParsePrivateKeyPEM(data); err != nil {
					return output.Usagef("--key %s: %v", keyFile, err)
				}
			} else {
				var err error
				if signer, err = artifactstore.GenerateKey(artifactstore.KeyType(keyType)); err != nil {
					return output.Usagef("--key-type: %v", err)
				}
				result.GeneratedKey = &generatedKey{PrivateKey: generate, PublicKey: generate + ".pub"}
				if !app.dryRun {
					if err := writeKeyPair(signer, generate); err != nil {
						return err
					}
				}
			}
			result.KeyType = string(signer.Type)
			if result.Bucket != "" && !app.dryRun {
				client, err := app.Client(c.Context())
				if err != nil {
					return err
				}
				if localFile != "" {
					if digest, err = fileSHA256(localFile); err != nil {
						return fmt.Errorf("--file: %w", err)
					}
				}
				referrer, err := client.Sign(c.Context(), result.Bucket, result.Key, signer,
					func(o *artifactstore.SignOptions) { o.SHA256 = digest })
				if err != nil {
					return err
				}
				entry := referrerOf(*referrer)
				result.Referrer = &entry
			}
			return app.printer.Result(result, app.dryRun, func(w io.Writer) {
				prefix := dryRunPrefix(app.dryRun)
				if g := result.GeneratedKey; g != nil {
					fmt.Fprintf(w, "%sgenerate_key: %s (private, 0600), %s (public)\n", prefix, g.PrivateKey, g.PublicKey)
				}
				if result.Bucket == "" || app.printer.Quiet {
					return
				}
				fmt.Fprintf(w, "%ssign: s3://%s/%s", prefix, result.Bucket, result.Key)
				if result.Referrer != nil {
					fmt.Fprintf(w, " (%s signature %s)", result.KeyType, result.Referrer.Digest)
				}
				fmt.Fprintln(w)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&keyFile, "key", "", "PEM private key to sign with (ECDSA P-256 or Ed25519)")
	f.StringVar(&generate, "generate-key", "", "make a new key pair: FILE (private, 0600) and FILE.pub")
	f.StringVar(&localFile, "file", "", "the local file that was uploaded: sign its SHA-256 (computed here)")
	f.StringVar(&digest, "sha256", "", "the object's SHA-256 (hex) to sign")
	f.StringVar(&keyType, "key-type", string(artifactstore.KeyECDSAP256), "type of a generated key: ecdsa-p256 or ed25519")
	app.addDryRun(c)
	return c
}

// writeKeyPair writes the private key (0600, never over an existing file) and the public key.
func writeKeyPair(signer *artifactstore.SigningKey, path string) error {
	private, err := signer.PrivateKeyPEM()
	if err != nil {
		return err
	}
	public, err := signer.PublicKeyPEM()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return output.Usagef("--generate-key: %v", err)
	}
	if _, err := f.Write(private); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(path+".pub", []byte(public), 0o644)
}

// fileSHA256 is a local file's SHA-256 (hex), read in constant memory.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isSHA256Hex(text string) bool {
	raw, err := hex.DecodeString(text)
	return err == nil && len(raw) == sha256.Size
}
