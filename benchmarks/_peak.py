"""Run the ``optrun`` command line in this process and report its peak resident memory.

    python benchmarks/_peak.py OUT_FILE train CONFIG ...   (the arguments of `optrun`)

At exit, writes the process's ``VmHWM`` (high-water mark of resident memory, kB) from
``/proc/self/status`` to OUT_FILE. VmHWM belongs to the address space the program itself built;
the rusage ``ru_maxrss`` of a child also counts the memory of the parent it was forked from (on
Linux the high-water mark survives fork + exec), which is wrong when the parent holds big arrays.
"""

import atexit
import sys


def _report(path: str) -> None:
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(path, "w") as out:
        out.write(kb)


if __name__ == "__main__":
    atexit.register(_report, sys.argv[1])
    sys.argv = ["optrun", *sys.argv[2:]]
    from optrun.cli.app import main

    main()
