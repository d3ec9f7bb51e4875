"""The dlt source of a shared table: its schema types, its Arrow batches made loadable, its child tables and
the resources (`share_table`)."""
