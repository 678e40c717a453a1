"""``python -m optrun`` is the ``optrun`` command."""

from optrun.cli.app import main

if __name__ == "__main__":
    main()
