.PHONY: run test bench lint
run:  ## the local stack: registry + gateway on 127.0.0.1:9000
	scripts/run.sh
test:  ## lint, types, unit and integration tests against a real registry
	scripts/test.sh
bench:  ## gateway vs. direct registry throughput (see docs/performance.md)
	scripts/bench.sh
