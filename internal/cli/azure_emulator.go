package cli

import (
	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/akvemu/emucmd"
)

// keyward azure-emulator runs the Azure emulator; everything it does lives in
// internal/akvemu and its emucmd package.
func init() {
	extraCommands = append(extraCommands, func(g *globals) *cobra.Command { return emucmd.New(g.io.Out, g.io.Err) })
}
