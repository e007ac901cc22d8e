// Package openapi embeds the OpenAPI (Swagger 2.0) document that buf
// generates from proto/ for the JSON routes, so the gateway serves the
// committed spec at /openapi.json without reading files at run time.
package openapi

import _ "embed"

// JSON is openapi/fastdfs.swagger.json as generated.
//
//go:embed fastdfs.swagger.json
var JSON []byte
