"""Empty stand-in for the databricks namespace package (not in Debian); MLflow probes it with find_spec."""
