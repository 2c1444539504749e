#ifndef DURABLE_CLI_STARTUP_H
#define DURABLE_CLI_STARTUP_H

/// Linked into each CLI: before the Swift runtime starts, a process without SWIFT_BACKTRACE re-executes itself with
/// SWIFT_BACKTRACE=interactive=no, so a crash never waits for a key on a terminal (see NonInteractiveBacktrace.c).
/// Always returns 1; it exists so that the target has a symbol to name.
int durable_cli_startup_linked(void);

#endif
