#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal of a given size and saves every byte it showed.

Usage: pty_run.py COLUMNS CAPTURE_FILE [--sigint-after NEEDLE] -- COMMAND ARGS...

The window size is set with TIOCSWINSZ on the pty before the command starts (so TIOCGWINSZ on its stdout or
stderr reports it); COLUMNS is removed from the environment, so the size must come from the terminal. With
--sigint-after, SIGINT is sent to the command's process group (as Ctrl-C at a terminal does) once NEEDLE has been
shown, and the terminal's echo of it (^C) is shown as a real terminal shows it.

Prints one JSON object: the exit status, and what a terminal of that width shows at the end (a small model of
one: printable characters, carriage return, newline, backspace, `ESC [ K` in its three forms; a character written
past the last column wraps to the next line, as xterm's autowrap does), the number of such wraps, and how many of
them a redraw left behind: a line that wrapped and was then redrawn in place (carriage return or erase before
its newline) leaves its first part on the screen. A long line printed once and ended with a newline wraps
harmlessly.
"""
import fcntl, json, os, pty, re, select, signal, struct, sys, termios, time


def screen(data, width):
    """The lines a terminal `width` columns wide shows after `data`, how many times a line wrapped, and how many
    of those wraps a redraw in place left behind."""
    text = data.decode("utf-8", errors="replace")
    rows, row, col, wraps, left, wrapped = [[]], 0, 0, 0, 0, False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\x1b":
            m = re.match(r"\x1b\[([0-9;?]*)([A-Za-z])", text[i:])
            if m:
                if m.group(2) == "K":
                    if wrapped:
                        left, wrapped = left + 1, False
                    line = rows[row]
                    mode = m.group(1) or "0"
                    if mode == "0":
                        del line[col:]
                    elif mode == "1":
                        line[: col + 1] = [" "] * min(len(line), col + 1)
                    elif mode == "2":
                        line.clear()
                i += len(m.group(0))
                continue
            i += 1
            continue
        if ch == "\r":
            col = 0
            if wrapped and not text.startswith("\n", i + 1):  # the terminal's own \r\n ends the line
                left, wrapped = left + 1, False
        elif ch == "\n":
            row += 1
            col = 0
            wrapped = False
        elif ch == "\b":
            col = max(0, col - 1)
        elif ch >= " ":
            if col >= width:  # autowrap: the character goes to the start of the next line
                row, col, wraps, wrapped = row + 1, 0, wraps + 1, True
            while len(rows) <= row:
                rows.append([])
            line = rows[row]
            while len(line) < col:
                line.append(" ")
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
        while len(rows) <= row:
            rows.append([])
        i += 1
    lines = ["".join(r).rstrip() for r in rows]
    while lines and not lines[-1]:
        lines.pop()
    return lines, wraps, left

def main():
    args = sys.argv[1:]
    columns, capture = int(args[0]), args[1]
    args = args[2:]
    needle = None
    if args[0] == "--sigint-after":
        needle, args = args[1].encode(), args[2:]
    assert args[0] == "--"
    command = args[1:]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm"
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(master)
        os.close(slave)
        os.execvpe(command[0], command, env)
    os.close(slave)
    shown = bytearray()
    sent = False
    deadline = time.time() + 120
    status = None
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if data:
                shown += data
            elif status is not None:
                break
        if needle is not None and not sent and needle in shown:
            time.sleep(0.3)  # a few redraws more, then Ctrl-C
            os.write(master, b"\x03")  # the line discipline sends SIGINT to the foreground group and echoes ^C
            sent = True
        if status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
        elif not ready:
            break
    if status is None:
        os.kill(pid, signal.SIGKILL)
        _, raw = os.waitpid(pid, 0)
        status = os.waitstatus_to_exitcode(raw)
    with open(capture, "wb") as f:
        f.write(bytes(shown))
    lines, wraps, left = screen(bytes(shown), columns)
    print(json.dumps({"status": status, "wraps": wraps, "left_behind": left, "screen": lines, "longest": max((len(l) for l in lines), default=0)}))

main()
