// Package api holds the JSON API's types, generated from clients/openapi.json (the gateway's
// OpenAPI document) by oapi-codegen; TestGeneratedIsCurrent checks they match it.
package api

// generator is the pinned oapi-codegen the go:generate line and the test run.
const generator = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config config.yaml ../../openapi.json
