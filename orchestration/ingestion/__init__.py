"""Raw ingestion: the files of FLYWHEEL_RAW_DIR into the warehouse's `raw` schema."""
