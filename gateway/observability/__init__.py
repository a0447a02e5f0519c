"""What operators watch the gateway by: its Prometheus metrics (``metrics.py``) and how the
management port hands them out across worker processes (``exposition.py``). It imports
nothing else of the gateway, so that every layer may report to it."""
