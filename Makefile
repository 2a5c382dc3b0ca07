.PHONY: run test bench

PORT ?= 8000

# Set up a fresh machine and serve the app on http://127.0.0.1:$(PORT) (SQLite, in-process
# workers): `make run PORT=8080` for another port.
run:
	scripts/setup
	.venv/bin/python manage.py serve --port $(PORT)

# Run the whole test suite (both modes).
test:
	scripts/test

# Run the benchmarks (both modes) and the peers' (LangGraph, DBOS: the `bench` extra) beside
# them; tables print, JSON lands in bench/results/.
bench:
	SETUP_EXTRAS=test,bench scripts/setup
	scripts/services
	.venv/bin/python -m bench
