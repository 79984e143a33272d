# brainbrr developer targets; `make help` lists them.
.PHONY: help install demo test lint bench gpu

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

install:  ## build the extension and install brainbrr with its test tools (editable)
	pip install -e ".[test]"

demo: install  ## run the main job on the built-in sample corpus
	brainbrr demo

test:  ## every test: the README's command, as CI runs it
	pip install -e ".[test]" && pytest && cargo test

lint:  ## rustfmt and clippy, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

bench:  ## the benchmarks in bench/ (minutes; see bench/README.md for each one's results file)
	python bench/bench_edf.py --out bench/RESULTS-edf.md
	RAYON_NUM_THREADS=1 python bench/bench_preprocess.py --runs 7 --out bench/RESULTS-preprocess.md
	python bench/bench_ingest.py
	python bench/bench_loader.py

gpu:  ## the CUDA check of ds.batches (exits 0 without a GPU)
	python bench/gpu_check.py --batches 200
