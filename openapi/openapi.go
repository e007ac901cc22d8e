// Package openapi embeds the OpenAPI documents of the gateway's REST API, as
// scripts/gen.sh generates them from proto/ and commits them, so the gateway
// serves them without reading files at run time.
package openapi

import _ "embed"

// JSON is openapi/fastdfs.swagger.json: the Swagger 2.0 document the gateway
// serves at /openapi.json (JSON routes, raw byte routes, security schemes).
//
//go:embed fastdfs.swagger.json
var JSON []byte

// JSON3 is openapi/fastdfs.openapi3.json: JSON converted to OpenAPI 3.0.
//
//go:embed fastdfs.openapi3.json
var JSON3 []byte
