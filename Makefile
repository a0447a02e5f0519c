.PHONY: run test bench soak lint
run:  ## the local stack: registry + gateway on 127.0.0.1:9000
	scripts/run.sh
test:  ## lint, types, unit and integration tests against a real registry
	scripts/test.sh
bench:  ## gateway vs. direct registry throughput (see docs/performance.md)
	scripts/bench.sh
soak:  ## 10 minutes of mixed S3 load at a fixed rate: latency, errors, RSS and fds (docs/performance.md)
	scripts/soak.sh
