# brainbrr developer targets; `make help` lists them.
.PHONY: help install demo test lint wheel test-wheel macos bench gpu

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

# zig links against glibc 2.28's symbols whatever the build machine's glibc is.
ZIG = PATH="$$(python -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))'):$$PATH"

wheel:  ## an abi3 manylinux_2_28 wheel in target/wheels, installable with no Rust
	pip install -q "maturin>=1.9,<2" ziglang
	$(ZIG) maturin build --release --zig --compatibility manylinux_2_28

test-wheel: wheel  ## the test suite against the wheel, installed in a new venv with no cargo on PATH
	scripts/test-wheel $$(ls -t target/wheels/brainbrr-*manylinux_2_28*.whl | head -1)

# cc-rs passes clang's --target, which zig cc does not parse: the wrapper drops it.
macos:  ## type-check every crate for macOS (x86_64-apple-darwin), C dependencies through zig
	rustup target add x86_64-apple-darwin
	pip install -q ziglang
	CC_x86_64_apple_darwin=$(CURDIR)/scripts/zig-cc-macos cargo check --target x86_64-apple-darwin --workspace --all-targets

bench:  ## the benchmarks in bench/ (minutes; see bench/README.md for each one's results file)
	python bench/bench_edf.py --out bench/RESULTS-edf.md
	RAYON_NUM_THREADS=1 python bench/bench_preprocess.py --runs 7 --out bench/RESULTS-preprocess.md
	python bench/bench_ingest.py
	python bench/bench_loader.py

gpu:  ## the CUDA check of ds.batches (exits 0 without a GPU)
	python bench/gpu_check.py --batches 200
