package cmd

import (
	"github.com/artifact-store/artifact-store/cli/internal/output"
	"github.com/spf13/cobra"
)

func init() { register(newCompletion) }

func newCompletion(app *App) *cobra.Command {
	var noDescriptions bool
	c := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for bash, zsh, fish or PowerShell",
		Long: `completion prints a script that makes your shell complete artifactctl's commands, flags
and fixed values (--kind, --output, on|off). Load it once per session or install it:

  bash:        source <(artifactctl completion bash)
               artifactctl completion bash > /etc/bash_completion.d/artifactctl
               (needs the bash-completion package)
  zsh:         artifactctl completion zsh > "${fpath[1]}/_artifactctl"
               (with 'autoload -U compinit; compinit' in ~/.zshrc)
  fish:        artifactctl completion fish > ~/.config/fish/completions/artifactctl.fish
  PowerShell:  artifactctl completion powershell | Out-String | Invoke-Expression
               (add that line to $PROFILE to keep it)`,
		Example: `  source <(artifactctl completion bash)
  artifactctl completion zsh > "${fpath[1]}/_artifactctl"
  artifactctl completion fish > ~/.config/fish/completions/artifactctl.fish`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(c *cobra.Command, args []string) error {
			root, out := c.Root(), app.stdout
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, !noDescriptions)
			case "zsh":
				if noDescriptions {
					return root.GenZshCompletionNoDesc(out)
				}
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, !noDescriptions)
			case "powershell":
				if noDescriptions {
					return root.GenPowerShellCompletion(out)
				}
				return root.GenPowerShellCompletionWithDesc(out)
			}
			return output.Usagef("completion takes bash, zsh, fish or powershell, not %q", args[0])
		},
	}
	c.Flags().BoolVar(&noDescriptions, "no-descriptions", false, "complete without the descriptions")
	return c
}
