#!/usr/bin/python3
"""logshape.py FILE PROGRAM [MIN]: every line PROGRAM wrote to FILE (stderr form,
"TIME PROGRAM LEVEL: message") must have the one log shape,
"subsystem: event key=value key=value", values quoted "..." with \\ escapes
when they need it. Prints the lines that do not, and fails on any, or on
fewer than MIN lines of PROGRAM (default 1). Lines of other writers
(sanitizers, the test's own) are not looked at."""
import re
import sys

HEAD = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) (error|warning|info|debug): (.*)$')
VALUE = r'(?:"(?:[^"\\]|\\.)*"|[^\s"=\\]+)'
BODY = re.compile(r'^[a-z0-9-]+: [a-z0-9-]+(?: [A-Za-z0-9-]+=' + VALUE + r')*$')


def main():
    path, prog = sys.argv[1], sys.argv[2]
    want = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    seen = bad = 0
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            m = HEAD.match(line)
            if m is None or m.group(1) != prog:
                continue
            seen += 1
            if not BODY.match(m.group(3)):
                bad += 1
                print('not key=value: ' + line)
    if seen < want:
        print('%d lines of %s in %s, expected at least %d' % (seen, prog, path, want))
        return 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
