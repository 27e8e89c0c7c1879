# yuanzhu: employment-assistance eligibility engine (C11, Lua 5.4, libyaml, cJSON, OpenSSL, SQLite)
#
#   make            build bin/yuanzhu and build/libyuanzhu.a
#   make demo       install missing Debian packages, build, check an example applicant (Guangdong)
#   make test       install missing Debian packages, build, run every test
#   make check      the tests again under AddressSanitizer and UndefinedBehaviorSanitizer
#   make tsan       the threaded parts (batch, its crash tests, the unit tests) under ThreadSanitizer
#   make fuzz       run every libFuzzer harness for FUZZ_SECONDS (default 60) each
#   make valgrind   check, lint, test and replay under valgrind --leak-check=full
#   make bench      measure against the peer engines in ../shared/bench (not a test)
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

PREFIX ?= /usr/local
DATADIR ?= $(PREFIX)/share/yuanzhu
CC ?= cc
CFLAGS ?= -O2 -g
PKGS = lua5.4 yaml-0.1 libcjson libcrypto sqlite3 libzstd
BUILD ?= build
BIN ?= bin/yuanzhu

WARN = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith -Wcast-qual \
       -Wno-cast-qual -Wvla -Wformat=2 -Wno-format-nonliteral
# recursive (=) so pkg-config runs only after `deps` has installed the packages
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Iengine -I$(BUILD) \
             -DYZ_DATADIR='"$(DATADIR)"' -MMD -MP
# Debian ships static archives of these: linking them statically saves ~5M instructions of dynamic
# relocation per process (libcrypto is large), a third of a single `check`.  STATIC=0 links them
# dynamically.
STATIC ?= 1
ifeq ($(STATIC),1)
LIBS = -Wl,-Bstatic -llua5.4 -lyaml -lcrypto -lsqlite3 -lzstd -lcsv -Wl,-Bdynamic -lcjson -ldl -lpthread -lm
else
LIBS = $(PKG_LIBS) -lcsv -lpthread -lm
endif

ENGINE_SRC = $(sort $(wildcard engine/yz_*.c))
CLI_SRC = $(sort $(wildcard engine/cli/*.c))
UNIT_SRC = $(sort $(wildcard tests/unit/*.c))
ENGINE_OBJ = $(ENGINE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/yz_embed.o
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ = $(UNIT_SRC:%.c=$(BUILD)/%.o)
SCHEMAS = schemas/applicant-record.v1.schema.json schemas/policy.v1.schema.json schemas/store.sql

.PHONY: all deps deps-check demo test check tsan fuzz valgrind bench install clean unit

all: $(BIN) $(BUILD)/libyuanzhu.a

deps:
	@scripts/deps.sh

# the tools of make check, make fuzz and make valgrind (clang with its sanitizer and libFuzzer runtimes)
CHECK_PKGS = clang libclang-rt-14-dev valgrind
deps-check: deps
	@YZ_PACKAGES="$(CHECK_PKGS)" scripts/deps.sh

$(BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/yz_embed.c: $(SCHEMAS) scripts/embed.sh
	@mkdir -p $(BUILD)
	scripts/embed.sh $@ yz_embed_applicant_schema=schemas/applicant-record.v1.schema.json \
	    yz_embed_policy_schema=schemas/policy.v1.schema.json yz_embed_store_v1=schemas/store.sql

$(BUILD)/yz_embed.o: $(BUILD)/yz_embed.c Makefile
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libyuanzhu.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(BUILD)/libyuanzhu.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libyuanzhu.a $(LIBS)

$(BUILD)/unit: $(UNIT_OBJ) $(BUILD)/libyuanzhu.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(BUILD)/libyuanzhu.a $(LIBS)

unit: $(BUILD)/unit

demo: deps
	@$(MAKE) --no-print-directory all
	bin/yuanzhu check --province guangdong --as-of 2025-06-15 --operator demo schemas/examples/applicant.yaml

test: deps
	@$(MAKE) --no-print-directory all unit
	@tests/run.sh

# a sanitizer report ends the process with 99, an exit status no test expects (the default, 1, is
# also "a test failed", so an expected failure could hide a report)
CHECK_SAN = exitcode=99:detect_leaks=1
check: deps-check
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=bin/yuanzhu-asan CC=clang \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    LDFLAGS="-fsanitize=address,undefined" all unit
	@YZ_BIN=bin/yuanzhu-asan YZ_UNIT=build-asan/unit ASAN_OPTIONS=$(CHECK_SAN) UBSAN_OPTIONS=$(CHECK_SAN):print_stacktrace=1 \
	    tests/run.sh

# batch is the only part with threads (a reader, workers, a writer): its suites and the unit tests
# (which run yz_batch_run too) under ThreadSanitizer, in a build of their own; a report ends the
# process with 99 as in make check
TSAN_OPTS = halt_on_error=1:exitcode=99:second_deadlock_stack=1
tsan: deps-check
	@$(MAKE) --no-print-directory BUILD=build-tsan BIN=bin/yuanzhu-tsan CC=clang \
	    CFLAGS="-O1 -g -fsanitize=thread -fno-omit-frame-pointer" LDFLAGS="-fsanitize=thread" all unit
	@export YZ_BIN=bin/yuanzhu-tsan TSAN_OPTIONS=$(TSAN_OPTS); \
	    build-tsan/unit && tests/batch/run.sh && tests/crash/run.sh && echo "tsan: no data race reported"

valgrind: deps-check
	@$(MAKE) --no-print-directory all
	@tests/valgrind/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@tests/bench/run.sh

# make fuzz and the fuzz regression driver live with their harnesses
-include tests/fuzz/fuzz.mk

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(DATADIR)
	install -m 755 bin/yuanzhu $(DESTDIR)$(PREFIX)/bin/yuanzhu
	install -m 644 $(BUILD)/libyuanzhu.a $(DESTDIR)$(PREFIX)/lib/libyuanzhu.a
	install -m 644 engine/yuanzhu.h $(DESTDIR)$(PREFIX)/include/yuanzhu.h
	cp -R rules provinces schemas $(DESTDIR)$(DATADIR)/

clean:
	rm -rf build build-asan build-tsan bin

-include $(wildcard $(BUILD)/engine/*.d $(BUILD)/engine/cli/*.d $(BUILD)/tests/unit/*.d)
