// Command sdktransfer does one upload or one download with the SDK's UploadFile or
// DownloadFile, for bench/sdk.py (issue 17): the Python bench runs it once per transfer,
// times it and reads its CPU time.
//
//	ARTIFACT_STORE_ENDPOINT=... ARTIFACT_STORE_ACCESS_KEY_ID=... ARTIFACT_STORE_SECRET_ACCESS_KEY=... \
//	sdktransfer up|down <bucket> <key> <file> <partBytes> <concurrency>
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sdktransfer:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 6 || (args[0] != "up" && args[0] != "down") {
		return fmt.Errorf("usage: sdktransfer up|down <bucket> <key> <file> <partBytes> <concurrency>")
	}
	part, err := strconv.ParseInt(args[4], 10, 64)
	if err != nil {
		return err
	}
	threads, err := strconv.Atoi(args[5])
	if err != nil {
		return err
	}
	ctx := context.Background()
	client, err := artifactstore.New(ctx)
	if err != nil {
		return err
	}
	bucket, key, file := args[1], args[2], args[3]
	started := time.Now()
	var result any
	if args[0] == "up" {
		result, err = client.UploadFile(ctx, bucket, key, file, func(o *artifactstore.UploadOptions) {
			o.PartSize, o.Threshold, o.Concurrency = part, part, threads
		})
	} else {
		result, err = client.DownloadFile(ctx, bucket, key, file, func(o *artifactstore.DownloadOptions) {
			o.PartSize, o.Concurrency = part, threads
		})
	}
	if err != nil {
		return err
	}
	// The call's own seconds (without process start), which bench/sdk.py records.
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"result": result, "seconds": time.Since(started).Seconds()})
}
