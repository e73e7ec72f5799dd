# bc: backup and recovery tools for PostgreSQL in object storage.
#   make                      build every tool into bin/
#   make check                the layer and coding checks, the unit tests and the bats suite,
#                             plain and then under AddressSanitizer + UBSan
#   make check SANITIZE=1     only the sanitizer pass
#   make install PREFIX=DIR   binaries to DIR/bin, man pages to DIR/share/man/man1 and man7

PREFIX ?= /usr/local
VERSION := 0.1.0
PKGS := libcurl libssl openssl zlib liblzma liblz4 libzstd jansson libpq libarchive libnghttp2 \
	libprotobuf-c yaml-0.1

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread \
	-DBC_VERSION='"$(VERSION)"' -Ilib $(shell pkg-config --cflags $(PKGS))
# --as-needed: each tool loads only the libraries it calls (bc-plugin stays small).
LDFLAGS += -Wl,--as-needed
LDLIBS += $(shell pkg-config --libs $(PKGS)) -lbz2 -lsnappy -pthread

BUILD := build
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD := build-san
endif

# CNPG-i messages: C code generated from proto/ by protoc-c into the build.
PROTO_SRC := $(wildcard proto/*.proto)
PROTO_C := $(PROTO_SRC:proto/%.proto=$(BUILD)/proto/%.pb-c.c)
PROTO_H := $(PROTO_C:.c=.h)
CFLAGS += -I$(BUILD)/proto

TOOLS := $(notdir $(wildcard cmd/*))
# lib/<module>/*.c, and lib/store/<provider>/*.c one level down
LIB_SRC := $(wildcard lib/*/*.c lib/*/*/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(PROTO_C:.c=.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
MANS := $(wildcard man/*.1)
MANS7 := $(wildcard man/*.7)
BINDIR := $(BUILD)/bin

all: $(TOOLS:%=$(BINDIR)/%) bin

# bin/ always points at the last build, so scripts find the tools in one place.
bin: $(TOOLS:%=$(BINDIR)/%)
	@rm -rf bin && ln -sfn $(BINDIR) bin

$(BUILD)/libbc.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c $(wildcard lib/*/*.h lib/*/*/*.h) | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(dir $@)
	protoc-c --c_out=$(BUILD)/proto -Iproto $<

# The plugin's sources include the generated headers: rebuilt when a .proto changes.
$(filter $(BUILD)/lib/plugin/%,$(LIB_OBJ)): $(PROTO_H)

$(BUILD)/proto/%.pb-c.o: $(BUILD)/proto/%.pb-c.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BINDIR)/%: $(BUILD)/cmd/%/main.o $(BUILD)/libbc.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A test may include the scripted HTTP peer (tests/unit/fake_http.c).
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libbc.a $(wildcard tests/unit/*.h) tests/unit/fake_http.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbc.a $(LDLIBS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# Installs the Debian packages and npm test servers the build and suite need.
setup:
	tests/setup.sh

# The whole suite: installs what it needs, then builds (in a sub-make, so
# pkg-config sees the freshly installed libraries), then runs the unit tests
# and the bats files against real servers: once as built, once more under
# AddressSanitizer + UBSan (only the latter with SANITIZE=1).
check: setup layers coding
	$(MAKE) run-suite
ifneq ($(SANITIZE),1)
	$(MAKE) run-suite SANITIZE=1
endif

run-suite: all $(UNIT_BIN)
	tests/run.sh $(UNIT_BIN)

# Fuzz targets (clang + libFuzzer): FUZZ_SECONDS each, starting from the seeds.
# The library is compiled once more with coverage and the sanitizers into
# build/fuzz/libbc.a; a target links from it only what it calls.
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_LIB := $(LIB_SRC:%.c=build/fuzz/%.o) $(PROTO_C:$(BUILD)/proto/%.c=build/fuzz/proto/%.o)
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -pthread -DBC_VERSION='"$(VERSION)"' \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-Ilib -I$(BUILD)/proto $(shell pkg-config --cflags $(PKGS))
FUZZ_LDLIBS := $(LDLIBS)
build/fuzz/%.o: %.c $(wildcard lib/*/*.h lib/*/*/*.h) | $(PROTO_H)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
build/fuzz/proto/%.o: $(BUILD)/proto/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
build/fuzz/libbc.a: $(FUZZ_LIB)
	@rm -f $@
	$(AR) rcs $@ $^
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libbc.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libbc.a $(FUZZ_LDLIBS)
fuzz: $(FUZZ_BIN)
	@set -e; for n in $(FUZZ_SRC:tests/fuzz/%.c=%); do mkdir -p build/fuzz/$$n.corpus; \
	  build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) build/fuzz/$$n.corpus tests/fuzz/corpus/$${n#fuzz_}; done

# Every #include points down the stack (tests/layers.sh has the table).
layers:
	@sh tests/layers.sh

# The rules of CODING.md a grep can check (tests/coding.sh).
coding:
	@sh tests/coding.sh

lint-man:
	mandoc -Tlint -W warning $(MANS) $(MANS7)

# deploy/manifest.yaml: everything deploy/ installs on Kubernetes, rendered by
# kubectl's built-in kustomize (tests/bats/15-deploy.bats checks it is current).
manifest:
	{ echo '# Generated by `make manifest` (kubectl kustomize deploy): edit deploy/, not this file.'; \
	  kubectl kustomize deploy; } >deploy/manifest.yaml.tmp || { rm -f deploy/manifest.yaml.tmp; exit 1; }
	mv deploy/manifest.yaml.tmp deploy/manifest.yaml

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0755 $(TOOLS:%=$(BINDIR)/%) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(MANS) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(MANS7) $(DESTDIR)$(PREFIX)/share/man/man7/

demo: setup
	$(MAKE) all
	demo/run.sh

clean:
	rm -rf build build-san bin

.PHONY: all bin unit setup check run-suite fuzz layers coding lint-man manifest install demo clean
# The tools' main.o and the generated protobuf code come from pattern
# rules: keep them. (A bare .SECONDARY would make every object optional,
# and a new source file would never be compiled into an existing libbc.a.)
.SECONDARY: $(TOOLS:%=$(BUILD)/cmd/%/main.o) $(PROTO_C) $(PROTO_H)
