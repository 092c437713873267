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

.PHONY: all build ort demo test vet proto bench clean

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
## (needs python3-numpy python3-scipy python3-pil) into $(CASES), then restore and score all six tasks
## with the default methods: out/bench/table.md (also printed), table.json, sheet-TASK.png, psnr-TASK.png
bench: build
	test -f $(CASES)/inpaint_box128/manifest.json || /usr/bin/python3 $(SHARED)/bench/make_cases.py --clean $(SHARED)/data/eval/CBSD68 --out $(CASES)
	./bin/restore eval --set $(CASES) \
		--task denoise25,denoise50,deblur_levin,deblur_gauss,inpaint_random70,inpaint_box128 --out out/bench

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
