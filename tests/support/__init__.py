"""Test tooling: the warehouses under test, row builders, the oracle, emulator helpers, proxies, the auth server,
the crash kit, the benchmarks and the soak. Imported by tests; never by learnsync."""
