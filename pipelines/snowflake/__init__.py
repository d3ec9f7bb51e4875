"""Reading the share in Snowflake: the connection, the SQL, window planning and the reader."""
