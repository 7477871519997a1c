# revspine — every target sets itself up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench bench-engine bench-fhir bench-batch bench-cdshooks bench-web lint rules serve clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/revspine demo --out out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Every benchmark; each one rewrites its own section of BENCHMARKS.md (bench/record.py).
bench: bench-engine bench-fhir bench-batch bench-cdshooks bench-web

bench-engine: $(STAMP)
	$(BIN)/python bench/run.py

bench-fhir: $(STAMP)
	$(BIN)/python bench/record.py fhir --title "FHIR R4 bundle import" -- $(BIN)/python bench/fhir.py

bench-batch: $(STAMP)
	$(BIN)/python bench/record.py batch --title "Batch" -- $(BIN)/python bench/batch.py

bench-cdshooks: $(STAMP)
	$(BIN)/python bench/record.py cdshooks --title "CDS Hooks patient-view" -- $(BIN)/python bench/cdshooks.py

bench-web: $(STAMP)
	$(BIN)/python bench/record.py web --title "Web app" -- $(BIN)/python bench/web.py

serve: $(STAMP)
	$(BIN)/revspine serve --demo

rules: $(STAMP)
	$(BIN)/revspine rules --format md --out docs/RULES.md

clean:
	rm -rf $(VENV) out test-output .pytest_cache .mypy_cache .ruff_cache
