package cmd

import (
	"time"

	"github.com/artifact-store/artifact-store/clients/go/api"
)

// referrerEntry is one referrer (a signature, an SBOM, an attestation) in JSON results.
type referrerEntry struct {
	Digest        string    `json:"digest"`
	Kind          string    `json:"kind"`
	MediaType     string    `json:"mediaType"`
	ArtifactType  string    `json:"artifactType"`
	PredicateType string    `json:"predicateType,omitempty"`
	Size          int       `json:"size"`
	Subject       string    `json:"subject"`
	Created       time.Time `json:"created"`
}

func referrerOf(r api.ReferrerInfo) referrerEntry {
	e := referrerEntry{Digest: r.Digest, Kind: string(r.Kind), MediaType: r.MediaType, ArtifactType: r.ArtifactType,
		Size: r.Size, Subject: r.Subject, Created: r.Created.UTC()}
	if r.PredicateType != nil {
		e.PredicateType = *r.PredicateType
	}
	return e
}
