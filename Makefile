.PHONY: run test bench

# Set up a fresh machine and serve the app on http://127.0.0.1:8000 (SQLite, in-process workers).
run:
	scripts/setup
	.venv/bin/python manage.py serve

# Run the whole test suite (both modes).
test:
	scripts/test

# Run the benchmarks (both modes); tables print, JSON lands in bench/results/.
bench:
	scripts/setup
	scripts/services
	.venv/bin/python -m bench
