"""`python -m learnsync.emulator serve [--port P]`: see `learnsync.emulator.main`."""

from learnsync.emulator import main

if __name__ == "__main__":
    raise SystemExit(main())
