// Command plugin-config prints, as JSON, the plugin configurations SPIRE v1.13.3 reads from a server or
// agent config file (HCL or JSON): each plugin's type, name, plugin_cmd, plugin_checksum and the
// plugin_data text SPIRE will hand the plugin in Configure. It runs SPIRE's own decoding
// (hcl.Decode, then catalog.PluginConfigsFromHCLNode), so tests see exactly what a plugin is given,
// e.g. the HCL that SPIRE re-prints from a JSON plugin_data object such as the helm chart renders.
//
//	go run ./plugin-config CONFIG_FILE
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/spiffe/spire/pkg/common/catalog"
)

type plugin struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	Cmd      string `json:"plugin_cmd"`
	Checksum string `json:"plugin_checksum"`
	Data     string `json:"plugin_data"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "plugin-config:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: plugin-config CONFIG_FILE")
	}
	text, err := os.ReadFile(os.Args[1])
	if err != nil {
		return err
	}
	// The same field SPIRE's server and agent config structs decode the plugins section into.
	var config struct {
		Plugins ast.Node `hcl:"plugins"`
	}
	if err := hcl.Decode(&config, string(text)); err != nil {
		return fmt.Errorf("decoding %s: %w", os.Args[1], err)
	}
	configs, err := catalog.PluginConfigsFromHCLNode(config.Plugins)
	if err != nil {
		return err
	}
	out := []plugin{}
	for _, c := range configs {
		p := plugin{Type: c.Type, Name: c.Name, Cmd: c.Path, Checksum: c.Checksum}
		if c.DataSource != nil {
			if p.Data, err = c.DataSource.Load(); err != nil {
				return fmt.Errorf("plugin_data of %s %q: %w", c.Type, c.Name, err)
			}
		}
		out = append(out, p)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
