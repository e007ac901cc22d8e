// Command openapigen completes the Swagger 2.0 document that buf generates
// from proto/ into the one the gateway serves at /openapi.json
// (gateway.CompleteOpenAPI: info, raw byte routes, security schemes), in
// place. scripts/gen.sh runs it; usage: go run ./internal/cmd/openapigen FILE
package main

import (
	"fmt"
	"os"

	"github.com/fdfsgo/fdfs/server/gateway"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: openapigen FILE")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	spec, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := gateway.CompleteOpenAPI(spec)
	if err != nil {
		return err
	}
	return os.WriteFile(path, doc, 0o644)
}
