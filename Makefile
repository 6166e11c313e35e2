# Convenience targets; the scripts are what README and CI use.
.PHONY: run test build bench
run:
	scripts/run.sh
test:
	scripts/test.sh
build:
	scripts/deps.sh build && . scripts/env.sh && go build -o bin/tessera ./cmd/tessera
bench:
	scripts/bench.sh
