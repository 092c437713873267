# restore — build, demo and test. `make demo` and `make test` set up what they
# need: ONNX Runtime comes from the npm package onnxruntime-node (checked by sha256).

ORT_VERSION := 1.30.0
ORT_SHA256  := ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_DIR     := .cache/onnxruntime-$(ORT_VERSION)
ORT_LIB     := $(ORT_DIR)/libonnxruntime.so.1

GO       ?= go

# Go tests need cgo (onnxruntime_go) and find the runtime through this variable.
export ONNXRUNTIME_SHARED_LIBRARY_PATH := $(CURDIR)/$(ORT_LIB)
export CGO_ENABLED := 1

SHARED ?= ../shared
CASES  ?= out/cases

.PHONY: all build ort demo test vet proto bench bench-model bench-methods cases fuzz device-prep clean

all: build

## ort: fetch ONNX Runtime's shared library into the ignored cache folder
ort: $(ORT_LIB)

$(ORT_LIB):
	@command -v npm >/dev/null || { echo "make ort: npm is needed to fetch ONNX Runtime (apt-get install npm)"; exit 1; }
	rm -rf $(ORT_DIR).tmp && mkdir -p $(ORT_DIR).tmp
	cd $(ORT_DIR).tmp && npm pack --silent onnxruntime-node@$(ORT_VERSION) >/dev/null
	tar -xzf $(ORT_DIR).tmp/onnxruntime-node-$(ORT_VERSION).tgz -C $(ORT_DIR).tmp package/bin/napi-v6/linux/x64/libonnxruntime.so.1
	echo "$(ORT_SHA256)  $(ORT_DIR).tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | sha256sum --check --quiet
	mkdir -p $(ORT_DIR)
	mv $(ORT_DIR).tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 $(ORT_LIB)
	rm -rf $(ORT_DIR).tmp

## build: bin/restore and the built-in plugins as standalone binaries
build: $(ORT_LIB)
	$(GO) build -o bin/ ./restore ./plugins/cmd/...

## demo: restore a bundled degraded photo and say where the result is
demo: build
	@mkdir -p out
	./bin/restore --task deblur --kernel fixtures/kernels/motion15.txt --noise 2.55 --force \
		fixtures/images/flower-blurred.png -o out/demo-deblurred.png
	@echo
	@echo "Degraded input:  fixtures/images/flower-blurred.png"
	@echo "Restored result: out/demo-deblurred.png"
	@echo "Ground truth:    fixtures/images/flower.png"

## test: the whole suite (needs nothing but Go, gcc and npm)
test: $(ORT_LIB)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

## bench: the README's numbers: write the CBSD68 benchmark cases with ../shared/bench/make_cases.py
## and train/extra_cases.py (σ=15 denoising, 2x and 4x super-resolution; needs python3-numpy
## python3-scipy python3-pil) into $(CASES), then restore and score every task with its default
## method: out/bench/table.md (also printed), table.json, sheet-TASK.png, psnr-TASK.png
bench: build cases
	./bin/restore eval --set $(CASES) \
		--task denoise25,denoise50,deblur_levin,deblur_gauss,inpaint_random70,inpaint_box128,sr2,sr4 --out out/bench

## bench-model: the score model alone, one evaluation D(y, σ) per image (preset dpir) at σ = 15, 25, 50
bench-model: build cases
	./bin/restore eval --set $(CASES) --task denoise15,denoise25,denoise50 --method dpir --out out/bench-model

## bench-methods: every preset on every task at several budgets, on the first $(LIMIT) images of
## each task: the PSNR-versus-evaluations curves (out/bench-methods/psnr-TASK.png)
LIMIT ?= 8
STEPS ?= 10,20,50
bench-methods: build cases
	./bin/restore eval --set $(CASES) --limit $(LIMIT) --method diffpir,dpir,ddnm,mpgd,daps --steps $(STEPS) \
		--task denoise25,deblur_levin,deblur_gauss,inpaint_random70,inpaint_box128,sr4 --out out/bench-methods

cases: $(CASES)/inpaint_box128/manifest.json $(CASES)/sr4/manifest.json
$(CASES)/inpaint_box128/manifest.json:
	/usr/bin/python3 $(SHARED)/bench/make_cases.py --clean $(SHARED)/data/eval/CBSD68 --out $(CASES)
$(CASES)/sr4/manifest.json:
	/usr/bin/python3 train/extra_cases.py --bench $(SHARED)/bench --clean $(SHARED)/data/eval/CBSD68 --out $(CASES)

## device-prep: copy the training photos and 4 validation images into .cache/device for a
## GPU run with the device tool (see train/device.sh), and for its benchmarks a compressed
## ONNX Runtime, a compressed host test binary and the Vulkan loader's and GL dispatch's Debian
## packages into .cache/device-gpu
device-prep: $(ORT_LIB)
	rm -rf .cache/device .cache/device-gpu && mkdir -p .cache/device/val .cache/device-gpu
	cp -r ../shared/data/train-photos .cache/device/train-photos
	ls ../shared/data/eval/CBSD68/*.png | sort | head -4 | xargs -I{} cp {} .cache/device/val/
	git rev-parse --short HEAD >.cache/device/commit
	xz -T0 -9 -c $(ORT_LIB) >.cache/device-gpu/libonnxruntime.so.1.xz
	$(GO) test -c -ldflags='-s -w' -o .cache/device-gpu/host.test ./host
	xz -T0 -9 .cache/device-gpu/host.test
	cd .cache/device-gpu && apt-get download libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libgles2 libopengl0
	du -sh .cache/device .cache/device-gpu

## fuzz: run each fuzz target's engine for a fixed number of inputs, about 30 s each on the
## 2-core development machine (the seeds also run in make test; .ci/run runs this after the
## tests). A count, not a duration: Go 1.26's fuzzing coordinator can fail a run whose -fuzztime
## deadline passes while a worker is mid-input ("context deadline exceeded" with no failing
## input; golang/go#75804, fixed in Go 1.27). FUZZTIME=… (a count like 1000x, or a duration)
## overrides every target's. A crasher is written to the package's testdata/fuzz and stays
## there as a regression case.
FUZZTIME ?=
fuzz:
	$(GO) test ./internal/imageio -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(or $(FUZZTIME),1500x)
	$(GO) test ./internal/psf -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),1500000x)
	$(GO) test ./internal/psf -run '^$$' -fuzz '^FuzzShortcut$$' -fuzztime $(or $(FUZZTIME),200000x)
	$(GO) test ./sdk -run '^$$' -fuzz '^FuzzTensorFromPB$$' -fuzztime $(or $(FUZZTIME),200000x)
	$(GO) test ./sdk -run '^$$' -fuzz '^FuzzOperatorFromPB$$' -fuzztime $(or $(FUZZTIME),150000x)
	$(GO) test ./host -run '^$$' -fuzz '^FuzzParseModelInfo$$' -fuzztime $(or $(FUZZTIME),150000x)

## vet: static checks
vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

## proto: regenerate internal/pb (needs protoc: apt-get install protobuf-compiler)
proto:
	GOBIN=$(CURDIR)/.cache/bin $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	GOBIN=$(CURDIR)/.cache/bin $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
	PATH=$(CURDIR)/.cache/bin:$$PATH protoc --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative internal/pb/restore.proto

clean:
	rm -rf bin out
