// Command artifactctl is the artifact store's CLI: S3 buckets and objects, their signatures,
// SBOMs and attestations, policies and access keys, on the Go SDK (clients/go).
package main

import (
	"os"

	"github.com/artifact-store/artifact-store/cli/internal/cmd"
)

func main() { os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
