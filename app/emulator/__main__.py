"""`python -m learnsync.emulator serve [--port P]`: see `learnsync.emulator.server.main`."""

from learnsync.emulator.server import main

if __name__ == "__main__":
    raise SystemExit(main())
