package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
)

func init() { register(newPolicy) }

// policyResult is the JSON result of the policy commands.
type policyResult struct {
	Bucket  string         `json:"bucket"`
	Policy  map[string]any `json:"policy,omitempty"` // get; set: the policy sent
	Set     bool           `json:"set,omitempty"`
	Deleted bool           `json:"deleted,omitempty"`
}

func newPolicy(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "policy",
		Short: "Read, set or delete a bucket's policy",
		Long: `A bucket policy is an IAM-style JSON document (docs/identity.md, Decisions) that grants or denies
actions on the bucket and its keys to principals. The store checks it when it is set: a policy
it refuses exits 7 with the store's own words.`,
	}
	c.AddCommand(newPolicyGet(app), newPolicySet(app), newPolicyDelete(app))
	return c
}

func newPolicyGet(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "get s3://BUCKET",
		Short: "Print a bucket's policy (exit 2 when it has none)",
		Example: `  artifactctl policy get s3://releases
  artifactctl policy get s3://releases > policy.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			bucket, err := parseBucket(args[0])
			if err != nil {
				return err
			}
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			policy, err := client.GetBucketPolicy(c.Context(), bucket)
			if err != nil {
				return err
			}
			result := policyResult{Bucket: bucket, Policy: policy}
			return app.printer.Result(result, false, func(w io.Writer) {
				data, _ := json.MarshalIndent(policy, "", "  ")
				fmt.Fprintf(w, "%s\n", data)
			})
		},
	}
}

func newPolicySet(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "set s3://BUCKET FILE|-",
		Short: "Set a bucket's policy from a JSON file (\"-\": stdin)",
		Example: `  artifactctl policy set s3://releases policy.json
  artifactctl policy get s3://releases | jq '.Statement += [$extra]' --argjson extra "$STMT" | artifactctl policy set s3://releases -
  artifactctl policy set s3://releases policy.json --dry-run`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			bucket, err := parseBucket(args[0])
			if err != nil {
				return err
			}
			var document []byte
			if args[1] == "-" {
				document, err = io.ReadAll(io.LimitReader(app.stdin, 1<<20))
			} else {
				document, err = os.ReadFile(args[1])
			}
			if err != nil {
				return err
			}
			result := policyResult{Bucket: bucket, Set: true}
			var parsed map[string]any
			if json.Unmarshal(document, &parsed) == nil {
				result.Policy = parsed
			}
			if !app.dryRun {
				client, err := app.Client(c.Context())
				if err != nil {
					return err
				}
				// The document goes as it is: the store judges it and says what is wrong.
				_, err = client.S3().PutBucketPolicy(c.Context(), &s3.PutBucketPolicyInput{Bucket: &bucket,
					Policy: aws.String(string(document))})
				if err != nil {
					return artifactstore.WrapS3Error(err)
				}
			}
			return app.printer.Result(result, app.dryRun, func(w io.Writer) {
				fmt.Fprintf(w, "%sput_bucket_policy: s3://%s from %s\n", dryRunPrefix(app.dryRun), bucket, args[1])
			})
		},
	}
	app.addDryRun(c)
	return c
}

func newPolicyDelete(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:     "delete s3://BUCKET",
		Short:   "Delete a bucket's policy (none is no error)",
		Example: `  artifactctl policy delete s3://releases --dry-run`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			bucket, err := parseBucket(args[0])
			if err != nil {
				return err
			}
			if err := app.unlessDryRun(c.Context(), func(client *artifactstore.Client) error {
				return client.DeleteBucketPolicy(c.Context(), bucket)
			}); err != nil {
				return err
			}
			return app.printer.Result(policyResult{Bucket: bucket, Deleted: true}, app.dryRun, func(w io.Writer) {
				fmt.Fprintf(w, "%sdelete_bucket_policy: s3://%s\n", dryRunPrefix(app.dryRun), bucket)
			})
		},
	}
	app.addDryRun(c)
	return c
}
