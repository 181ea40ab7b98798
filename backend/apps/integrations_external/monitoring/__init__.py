"""What operators watch: the delivery backlog, failing targets, and the Prometheus metrics."""
