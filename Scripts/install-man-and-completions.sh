#!/usr/bin/env bash
# Man pages and shell completions (bash, zsh, fish) for durable-extract, durable-resume and durable-backfill,
# generated from their swift-argument-parser definitions, so they always match --help.
#
#   Scripts/install-man-and-completions.sh [PREFIX]     default PREFIX: /usr/local
#
# Writes PREFIX/share/man/man1/<tool>[.<subcommand>].1, PREFIX/share/bash-completion/completions/<tool>,
# PREFIX/share/zsh/site-functions/_<tool> and PREFIX/share/fish/vendor_completions.d/<tool>.fish.
# OUT=DIR writes them all into DIR instead (no install), as the tests do.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
tools=(durable-extract durable-resume durable-backfill)
for tool in "${tools[@]}"; do swift build -c release --product "$tool" >/dev/null; done
swift build -c release --product generate-manual >/dev/null   # swift-argument-parser's man page generator
bin=$(swift build -c release --show-bin-path)
if [ -n "${OUT:-}" ]; then
    man="$OUT/man" bash_dir="$OUT/bash" zsh_dir="$OUT/zsh" fish_dir="$OUT/fish"
else
    man="$prefix/share/man/man1" bash_dir="$prefix/share/bash-completion/completions"
    zsh_dir="$prefix/share/zsh/site-functions" fish_dir="$prefix/share/fish/vendor_completions.d"
fi
mkdir -p "$man" "$bash_dir" "$zsh_dir" "$fish_dir"
for tool in "${tools[@]}"; do
    "$bin/generate-manual" "$bin/$tool" --multi-page --output-directory "$man"
    "$bin/$tool" --generate-completion-script bash > "$bash_dir/$tool"
    "$bin/$tool" --generate-completion-script zsh > "$zsh_dir/_$tool"
    "$bin/$tool" --generate-completion-script fish > "$fish_dir/$tool.fish"
done
echo "man pages in $man, completions in $bash_dir, $zsh_dir, $fish_dir"
