// Faults at the C library boundary, for the tests of the built binaries (LD_PRELOAD).
//
// It lives outside the test target's folder (SwiftPM would try to build it as part of the target). The tests
// compile it with `cc -shared -fPIC -o libdurablefault.so fault_injection.c -ldl` and start a CLI
// with LD_PRELOAD pointing at the result. Every fault is configured through the environment; with none set the
// library only forwards to libc. Paths are the descriptor's own (read from /proc/self/fd), so a fault hits the file
// the process really synced or wrote, whoever opened it (Swift code, Foundation or SQLite).
//
//   DURABLE_FAULT_PROGRAM=durable-resume   faults apply only in a process whose executable has this name (item
//                                          commands and other children inherit LD_PRELOAD but keep working)
//   DURABLE_FAULT_SYNC_PATH=-wal           fsync/fdatasync of a file whose path contains this text...
//   DURABLE_FAULT_SYNC_AFTER=1             ...fail after this many good calls (default 0)...
//   DURABLE_FAULT_SYNC_ERRNO=5             ...with this errno (default EIO)
//   DURABLE_FAULT_WRITE_PATH=.done         write/pwrite/writev to a matching file fail after
//   DURABLE_FAULT_WRITE_AFTER=3            this many good calls, with
//   DURABLE_FAULT_WRITE_ERRNO=28           this errno (default ENOSPC)
//   DURABLE_FAULT_PIPE_AFTER=10            pipe/pipe2 fail with EMFILE after this many good calls
//   DURABLE_FAULT_OPEN_PATH=out.jsonl      open/openat of a matching path fail with EMFILE after
//   DURABLE_FAULT_OPEN_AFTER=2             this many good calls
//
// Each fault, once triggered, stays: a disk that failed a sync does not recover for the next call. Each injected
// failure is logged on standard error as `durable-fault: fdatasync(/path) -> errno 5`, so a test can tell an
// injected failure from a real one.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

struct fault {
    const char *path;   // NULL: any path (pipe), or fault disabled (others)
    long after;         // good calls before the first failure
    int error;
    long calls;         // calls seen so far (atomic)
    int enabled;
};

static struct fault sync_fault, write_fault, pipe_fault, open_fault;
static int program_matches = 1;
static int initialized;

static long env_long(const char *name, long fallback) {
    const char *text = getenv(name);
    return text && *text ? strtol(text, NULL, 10) : fallback;
}

static void configure(struct fault *fault, const char *path_name, const char *after_name, const char *errno_name,
                      int default_errno, int needs_path) {
    fault->path = path_name ? getenv(path_name) : NULL;
    if (fault->path && !*fault->path) fault->path = NULL;
    fault->after = env_long(after_name, 0);
    fault->error = errno_name ? (int)env_long(errno_name, default_errno) : default_errno;
    fault->enabled = needs_path ? fault->path != NULL : getenv(after_name) != NULL;
}

__attribute__((constructor)) static void durable_fault_init(void) {
    const char *program = getenv("DURABLE_FAULT_PROGRAM");
    if (program && *program) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n < 0) n = 0;
        exe[n] = 0;
        const char *base = strrchr(exe, '/');
        base = base ? base + 1 : exe;
        program_matches = strcmp(base, program) == 0;
    }
    configure(&sync_fault, "DURABLE_FAULT_SYNC_PATH", "DURABLE_FAULT_SYNC_AFTER", "DURABLE_FAULT_SYNC_ERRNO", EIO, 1);
    configure(&write_fault, "DURABLE_FAULT_WRITE_PATH", "DURABLE_FAULT_WRITE_AFTER", "DURABLE_FAULT_WRITE_ERRNO", ENOSPC, 1);
    configure(&pipe_fault, NULL, "DURABLE_FAULT_PIPE_AFTER", NULL, EMFILE, 0);
    configure(&open_fault, "DURABLE_FAULT_OPEN_PATH", "DURABLE_FAULT_OPEN_AFTER", NULL, EMFILE, 1);
    initialized = 1;
}

static void *next_symbol(const char *name) {
    void *symbol = dlsym(RTLD_NEXT, name);
    if (!symbol) {
        static const char message[] = "durable-fault: a libc symbol is missing\n";
        (void)syscall(SYS_write, 2, message, sizeof message - 1);
        abort();
    }
    return symbol;
}

// The path of an open descriptor ("" when it has none).
static void descriptor_path(int fd, char *buffer, size_t size) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buffer, size - 1);
    buffer[n < 0 ? 0 : n] = 0;
}

// Logs an injected failure on standard error without going through the interposed write.
static void report(const char *call, const char *path, int error) {
    static ssize_t (*real_write)(int, const void *, size_t);
    if (!real_write) real_write = (ssize_t (*)(int, const void *, size_t))next_symbol("write");
    char line[PATH_MAX + 96];
    int n = snprintf(line, sizeof line, "durable-fault: %s(%s) -> errno %d\n", call, path, error);
    if (n > 0) real_write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

// Whether this call, on `path` (NULL: no path to match), fails; counts the matching calls.
static int should_fail(struct fault *fault, const char *path) {
    if (!initialized || !program_matches || !fault->enabled) return 0;
    if (fault->path && (!path || !strstr(path, fault->path))) return 0;
    long seen = __atomic_fetch_add(&fault->calls, 1, __ATOMIC_SEQ_CST);
    return seen >= fault->after;
}

static int fails_on_descriptor(struct fault *fault, int fd, const char *call) {
    if (!initialized || !program_matches || !fault->enabled) return 0;
    char path[PATH_MAX];
    descriptor_path(fd, path, sizeof path);
    if (!should_fail(fault, path)) return 0;
    report(call, path, fault->error);
    errno = fault->error;
    return 1;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))next_symbol("fsync");
    if (fails_on_descriptor(&sync_fault, fd, "fsync")) return -1;
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))next_symbol("fdatasync");
    if (fails_on_descriptor(&sync_fault, fd, "fdatasync")) return -1;
    return real(fd);
}

ssize_t write(int fd, const void *buffer, size_t count) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) real = (ssize_t (*)(int, const void *, size_t))next_symbol("write");
    if (fd > 2 && fails_on_descriptor(&write_fault, fd, "write")) return -1;
    return real(fd, buffer, count);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = (ssize_t (*)(int, const void *, size_t, off_t))next_symbol("pwrite");
    if (fails_on_descriptor(&write_fault, fd, "pwrite")) return -1;
    return real(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset) {
    static ssize_t (*real)(int, const void *, size_t, off64_t);
    if (!real) real = (ssize_t (*)(int, const void *, size_t, off64_t))next_symbol("pwrite64");
    if (fails_on_descriptor(&write_fault, fd, "pwrite64")) return -1;
    return real(fd, buffer, count, offset);
}

ssize_t writev(int fd, const struct iovec *vector, int count) {
    static ssize_t (*real)(int, const struct iovec *, int);
    if (!real) real = (ssize_t (*)(int, const struct iovec *, int))next_symbol("writev");
    if (fd > 2 && fails_on_descriptor(&write_fault, fd, "writev")) return -1;
    return real(fd, vector, count);
}

int pipe(int fds[2]) {
    static int (*real)(int[2]);
    if (!real) real = (int (*)(int[2]))next_symbol("pipe");
    if (should_fail(&pipe_fault, NULL)) {
        report("pipe", "", EMFILE);
        errno = EMFILE;
        return -1;
    }
    return real(fds);
}

int pipe2(int fds[2], int flags) {
    static int (*real)(int[2], int);
    if (!real) real = (int (*)(int[2], int))next_symbol("pipe2");
    if (should_fail(&pipe_fault, NULL)) {
        report("pipe2", "", EMFILE);
        errno = EMFILE;
        return -1;
    }
    return real(fds, flags);
}

static int fails_on_path(const char *path, const char *call) {
    if (!path || !should_fail(&open_fault, path)) return 0;
    report(call, path, EMFILE);
    errno = EMFILE;
    return 1;
}

static mode_t mode_argument(int flags, va_list arguments) {
    return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? (mode_t)va_arg(arguments, int) : 0;
}

int open(const char *path, int flags, ...) {
    static int (*real)(const char *, int, ...);
    if (!real) real = (int (*)(const char *, int, ...))next_symbol("open");
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    if (fails_on_path(path, "open")) return -1;
    return real(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    static int (*real)(const char *, int, ...);
    if (!real) real = (int (*)(const char *, int, ...))next_symbol("open64");
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    if (fails_on_path(path, "open64")) return -1;
    return real(path, flags, mode);
}

int openat(int directory, const char *path, int flags, ...) {
    static int (*real)(int, const char *, int, ...);
    if (!real) real = (int (*)(int, const char *, int, ...))next_symbol("openat");
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    if (fails_on_path(path, "openat")) return -1;
    return real(directory, path, flags, mode);
}

int openat64(int directory, const char *path, int flags, ...) {
    static int (*real)(int, const char *, int, ...);
    if (!real) real = (int (*)(int, const char *, int, ...))next_symbol("openat64");
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    if (fails_on_path(path, "openat64")) return -1;
    return real(directory, path, flags, mode);
}
