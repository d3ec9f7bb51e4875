"""learnsync: sync LMS learning-data shares from Snowflake into your own warehouse."""

__version__ = "0.1.0"
