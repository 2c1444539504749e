// Makes the executables that link this target non-interactive after a crash.
//
// The Swift runtime reads SWIFT_BACKTRACE once, in a constructor of libswiftCore, and on a terminal its default
// is `interactive=yes`: a crashed CLI prints "Press space to interact, D to debug, or any other key to quit (30s)"
// and holds the operator's terminal (or a script's pty) until a key or the timeout. The toolchain offers no
// build setting for that default (Swift 6.3: the settings live in the runtime's own `_swift_backtraceSettings`,
// filled from the environment only), so this sets the environment before the runtime starts:
//
// a `.preinit_array` function runs before any shared library's constructor. When SWIFT_BACKTRACE is not set it
// re-executes the same executable (same pid, same arguments) with `SWIFT_BACKTRACE=interactive=no` added; a
// user's own setting, whatever it says, is kept as it is. Nothing else changes: the crash report is still printed
// (on standard error), and item commands inherit the setting. Linux only (`.preinit_array` is an ELF feature);
// when the re-exec fails the process simply continues with the runtime's defaults.
#if defined(__linux__)
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "DurableCLIStartup.h"

static void durable_non_interactive_backtrace(int argc, char **argv, char **envp) {
    (void)argc;
    static const char prefix[] = "SWIFT_BACKTRACE=";
    int count = 0;
    for (; envp && envp[count]; count++) {
        if (strncmp(envp[count], prefix, sizeof prefix - 1) == 0) return;  // the user's choice
    }
    // The real path, not /proc/self/exe: the process keeps its name (`ps`, /proc/PID/comm).
    char executable[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
    if (length <= 0) return;
    executable[length] = 0;
    char *environment[count + 2];
    for (int i = 0; i < count; i++) environment[i] = envp[i];
    environment[count] = (char *)"SWIFT_BACKTRACE=interactive=no";
    environment[count + 1] = NULL;
    execve(executable, argv, environment);
}

__attribute__((section(".preinit_array"), used))
static void (*const durable_cli_startup)(int, char **, char **) = durable_non_interactive_backtrace;
#endif

int durable_cli_startup_linked(void) { return 1; }
