"""The share catalog, below both the engine (`learnsync.pipelines`) and the destinations (`learnsync.destinations`):
what a profile syncs and how each table is named, keyed and described (`tables`, `vendor_docs`, `naming`), and the
row fingerprint in each SQL dialect (`fingerprint`)."""
