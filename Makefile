# yuanzhu: employment-assistance eligibility engine (C11, Lua 5.4, libyaml, cJSON, OpenSSL, SQLite)
#
#   make            build bin/yuanzhu, build/libyuanzhu.a and build/libyuanzhu.so
#   make demo       install missing Debian packages, build, check an example applicant (Guangdong)
#   make test       install missing Debian packages, build, run every test
#   make check      the tests again under AddressSanitizer and UndefinedBehaviorSanitizer
#   make tsan       the threaded parts (batch, verify, impact, due, serve, crash tests, unit tests) under ThreadSanitizer
#   make fuzz       run every libFuzzer harness for FUZZ_SECONDS (default 60) each
#   make valgrind   check, lint, test and replay under valgrind --leak-check=full
#   make bench      measure against the peer engines in ../shared/bench (not a test)
#   make install    PREFIX=/usr/local DESTDIR=     (make uninstall takes it away again)
#   make clean

PREFIX ?= /usr/local
DATADIR ?= $(PREFIX)/share/yuanzhu
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
CC ?= cc
CFLAGS ?= -O2 -g
# the one C++ file (yz_jsonfast.cc: simdjson has no C interface) is built with CXX and the same CFLAGS
CXX = c++
PKGS = lua5.4 yaml-0.1 libcjson libcrypto sqlite3 libzstd simdjson
BUILD ?= build
BIN ?= bin/yuanzhu

WARN = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith -Wcast-qual -Wvla \
       -Wformat=2 -Wno-format-nonliteral
# recursive (=) so pkg-config runs only after `deps` has installed the packages
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# position-independent with hidden symbols, so the same objects make the shared library and a
# static one that exports only the YZ_API functions of yuanzhu.h
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Iengine -I$(BUILD) -fPIC -fvisibility=hidden \
             -MMD -MP
# UBSan's C++-only checks (vtables; clang's function types too) need the sanitizer's C++ runtime,
# which the C links of the engine lack
COMMA = ,
CXX_NOSAN = $(if $(findstring clang,$(CXX)),-fno-sanitize=vptr$(COMMA)function,-fno-sanitize=vptr)
ALL_CXXFLAGS = -std=c++17 -D_GNU_SOURCE -Wall -Wextra -Wshadow $(CFLAGS) $(PKG_CFLAGS) -Iengine -fPIC -fvisibility=hidden \
               $(CXX_NOSAN) -MMD -MP
# Debian ships static archives of these: linking them statically saves ~5M instructions of dynamic
# relocation per process (libcrypto is large), a third of a single `check`.  STATIC=0 links them
# dynamically.
STATIC ?= 1
ifeq ($(STATIC),1)
LIBS = -Wl,-Bstatic -llua5.4 -lyaml -lcrypto -lsqlite3 -lzstd -lcsv -Wl,-Bdynamic -lcjson -lsimdjson -lstdc++ -ldl -lpthread -lm
else
LIBS = $(PKG_LIBS) -lcsv -lstdc++ -lpthread -lm
endif
SERVE_LIBS = $(shell pkg-config --libs libmicrohttpd jansson 2>/dev/null)

ENGINE_SRC = $(sort $(wildcard engine/yz_*.c))
ENGINE_CXX_SRC = $(sort $(wildcard engine/yz_*.cc))
CLI_SRC = $(sort $(wildcard engine/cli/*.c))
# the HTTP service (yuanzhu serve) is part of the command, not of the library: only it needs libmicrohttpd
SERVE_SRC = $(sort $(wildcard engine/serve/*.c))
SERVE_OBJ = $(SERVE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/serve_embed.o
UNIT_SRC = $(sort $(wildcard tests/unit/*.c))
ENGINE_OBJ = $(ENGINE_SRC:%.c=$(BUILD)/%.o) $(ENGINE_CXX_SRC:%.cc=$(BUILD)/%.o) $(BUILD)/yz_embed.o
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o) $(SERVE_OBJ)
UNIT_OBJ = $(UNIT_SRC:%.c=$(BUILD)/%.o)
SCHEMAS = schemas/applicant-record.v1.schema.json schemas/policy.v1.schema.json schemas/store.sql \
          schemas/store-sign.sql

.PHONY: FORCE all deps deps-test deps-bench bench-serve deps-check demo test check tsan fuzz valgrind bench install uninstall clean unit

all: $(BIN) $(BUILD)/libyuanzhu.a $(BUILD)/libyuanzhu.so

deps:
	@scripts/deps.sh

# what make test needs besides the build: an independent JSON Schema validator (tests/schema, the
# OpenAPI document of yuanzhu serve), a YAML reader for it, a real browser for the caseworker page,
# the Prometheus client's parser for /metrics, a CJK font, an image reader for the screenshot of
# the impact report's charts, the zstd tool (tests/store rewrites a stored frame with it)
TEST_PKGS = python3 python3-jsonschema python3-yaml python3-prometheus-client chromium chromium-driver \
            fonts-wqy-microhei python3-pil zstd
deps-test: deps
	@YZ_PACKAGES="$(TEST_PKGS)" scripts/deps.sh

# the tools of make check, make fuzz and make valgrind (clang with its sanitizer and libFuzzer runtimes)
CHECK_PKGS = clang libclang-rt-14-dev valgrind
deps-check: deps
	@YZ_PACKAGES="$(CHECK_PKGS)" scripts/deps.sh

$(BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cc Makefile
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

# DATADIR, compiled into the engine (where an installed yuanzhu finds rules/ and provinces/): the
# header changes, and so the engine is rebuilt, whenever make is run with another DATADIR or
# PREFIX (make install PREFIX=/opt/yuanzhu after a plain make installs a binary that looks there)
$(BUILD)/yz_config.h: FORCE
	@mkdir -p $(BUILD)
	@printf '/* generated by the Makefile: do not edit */\n#define YZ_DATADIR "%s"\n' '$(DATADIR)' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@
	@rm -f $@.tmp

$(BUILD)/engine/yz_api.o: $(BUILD)/yz_config.h

$(BUILD)/yuanzhu.pc: engine/yuanzhu.pc.in engine/yuanzhu.h Makefile FORCE
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(INCLUDEDIR))|' \
	    -e "s|@VERSION@|$$(sed -n 's/^#define YZ_VERSION \"\(.*\)\"/\1/p' engine/yuanzhu.h)|" \
	    -e 's|@REQUIRES@|$(PKGS)|' $< > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@
	@rm -f $@.tmp

$(BUILD)/yz_embed.c: $(SCHEMAS) scripts/embed.sh
	@mkdir -p $(BUILD)
	scripts/embed.sh $@ yz_embed_applicant_schema=schemas/applicant-record.v1.schema.json \
	    yz_embed_policy_schema=schemas/policy.v1.schema.json yz_embed_store_v1=schemas/store.sql \
	    yz_embed_store_sign=schemas/store-sign.sql

$(BUILD)/yz_embed.o: $(BUILD)/yz_embed.c Makefile
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/serve_embed.c: engine/serve/openapi.json scripts/embed.sh
	@mkdir -p $(BUILD)
	scripts/embed.sh $@ yz_serve_openapi=engine/serve/openapi.json

$(BUILD)/serve_embed.o: $(BUILD)/serve_embed.c Makefile
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The library as an embedder links it: the engine's objects linked into one whose only global
# symbols are the public API (internal names such as arena_alloc cannot clash with the
# embedder's).  The CLI links it too, so it can only use yuanzhu.h.
$(BUILD)/libyuanzhu.a: $(ENGINE_OBJ)
	@rm -f $@ $(BUILD)/yuanzhu.o
	$(LD) -r -o $(BUILD)/yuanzhu.o $^
	objcopy --localize-hidden --wildcard --keep-global-symbol='yz_*' $(BUILD)/yuanzhu.o
	ar rcs $@ $(BUILD)/yuanzhu.o

# every object with its internal symbols, for the unit tests and fuzz harnesses
$(BUILD)/libyuanzhu-internal.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

SOVERSION = 0
# every symbol resolved at link time (the sanitizer builds leave theirs to the runtime the
# executable carries)
SO_LDFLAGS ?= -Wl,--no-undefined
$(BUILD)/libyuanzhu.so.$(SOVERSION): $(ENGINE_OBJ) engine/yuanzhu.map
	$(CC) $(CFLAGS) $(LDFLAGS) $(SO_LDFLAGS) -shared -Wl,-soname,libyuanzhu.so.$(SOVERSION) \
	    -Wl,--version-script=engine/yuanzhu.map -o $@ $(ENGINE_OBJ) \
	    $(PKG_LIBS) -lcsv -lstdc++ -lpthread -lm

$(BUILD)/libyuanzhu.so: $(BUILD)/libyuanzhu.so.$(SOVERSION)
	ln -sf libyuanzhu.so.$(SOVERSION) $@

$(BIN): $(CLI_OBJ) $(BUILD)/libyuanzhu.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libyuanzhu.a $(LIBS) $(SERVE_LIBS)

$(BUILD)/unit: $(UNIT_OBJ) $(BUILD)/libyuanzhu-internal.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(BUILD)/libyuanzhu-internal.a $(LIBS)

unit: $(BUILD)/unit $(BUILD)/embed-static $(BUILD)/embed-shared

# a program embedding the library (tests/embed): linked statically, and against the shared library
$(BUILD)/embed-static: $(BUILD)/tests/embed/embed.o $(BUILD)/libyuanzhu.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libyuanzhu.a $(LIBS)

$(BUILD)/embed-shared: $(BUILD)/tests/embed/embed.o $(BUILD)/libyuanzhu.so
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -L$(BUILD) -lyuanzhu -lcjson -Wl,-rpath,'$$ORIGIN'

demo: deps
	@$(MAKE) --no-print-directory all
	bin/yuanzhu check --province guangdong --as-of 2025-06-15 --operator demo schemas/examples/applicant.yaml

test: deps-test
	@$(MAKE) --no-print-directory all unit
	@tests/run.sh

# a sanitizer report ends the process with 99, an exit status no test expects (the default, 1, is
# also "a test failed", so an expected failure could hide a report)
CHECK_SAN = exitcode=99:detect_leaks=1
check: deps-check deps-test
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=bin/yuanzhu-asan CC=clang CXX=clang++ \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    LDFLAGS="-fsanitize=address,undefined" SO_LDFLAGS= all unit
	@YZ_BIN=bin/yuanzhu-asan YZ_UNIT=build-asan/unit ASAN_OPTIONS=$(CHECK_SAN) UBSAN_OPTIONS=$(CHECK_SAN):print_stacktrace=1 \
	    tests/run.sh

# the threaded parts under ThreadSanitizer, in a build of their own: batch (a reader, workers, a
# writer) with its crash suite, replay --all and audit verify (tests/store), impact, due
# (tests/ledger), serve (HTTP threads, the writer, suspended connections), and the unit tests
# (which run yz_batch_run too); a report ends the process with
# 99 as in make check (the crash suite on 60,000 records: instrumented, it runs several times slower)
TSAN_OPTS = halt_on_error=1:exitcode=99:second_deadlock_stack=1
tsan: deps-check deps-test
	@$(MAKE) --no-print-directory BUILD=build-tsan BIN=bin/yuanzhu-tsan CC=clang CXX=clang++ \
	    CFLAGS="-O1 -g -fsanitize=thread -fno-omit-frame-pointer" LDFLAGS="-fsanitize=thread" SO_LDFLAGS= all unit
	@export YZ_BIN=bin/yuanzhu-tsan TSAN_OPTIONS=$(TSAN_OPTS); \
	    build-tsan/unit && tests/batch/run.sh && tests/store/run.sh && tests/impact/run.sh && tests/ledger/run.sh && \
	    tests/serve/run.sh && YZ_CRASH_N=60000 tests/crash/run.sh && echo "tsan: no data race reported"

valgrind: deps-check
	@$(MAKE) --no-print-directory all
	@tests/valgrind/run.sh

BENCH_PKGS = wrk
deps-bench: deps
	@YZ_PACKAGES="$(BENCH_PKGS)" scripts/deps.sh

bench: deps deps-bench
	@$(MAKE) --no-print-directory all
	@tests/bench/run.sh
	@tests/bench/serve.sh

# yuanzhu serve alone: determinations/s and latency over loopback
bench-serve: deps deps-bench
	@$(MAKE) --no-print-directory all
	@tests/bench/serve.sh

# make fuzz and the fuzz regression driver live with their harnesses
-include tests/fuzz/fuzz.mk

# the binary, the library (static, shared, pkg-config), the header, the man pages, and in DATADIR the
# rules, provinces, schemas, the web page of `yuanzhu serve` and an example systemd unit
MANPAGES = docs/man/yuanzhu.1 docs/man/yuanzhu-serve.1
install: all $(BUILD)/yuanzhu.pc
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(DATADIR)/web \
	    $(DESTDIR)$(DATADIR)/examples $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/yuanzhu
	install -m 644 $(BUILD)/libyuanzhu.a $(DESTDIR)$(LIBDIR)/libyuanzhu.a
	install -m 755 $(BUILD)/libyuanzhu.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libyuanzhu.so.$(SOVERSION)
	ln -sf libyuanzhu.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libyuanzhu.so
	install -m 644 $(BUILD)/yuanzhu.pc $(DESTDIR)$(LIBDIR)/pkgconfig/yuanzhu.pc
	install -m 644 engine/yuanzhu.h $(DESTDIR)$(INCLUDEDIR)/yuanzhu.h
	install -m 644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	cp -R rules provinces schemas $(DESTDIR)$(DATADIR)/
	install -m 644 engine/web/* $(DESTDIR)$(DATADIR)/web/
	sed -e 's|@BINDIR@|$(PREFIX)/bin|' docs/yuanzhu.service > $(DESTDIR)$(DATADIR)/examples/yuanzhu.service

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/yuanzhu $(DESTDIR)$(LIBDIR)/libyuanzhu.a \
	    $(DESTDIR)$(LIBDIR)/libyuanzhu.so $(DESTDIR)$(LIBDIR)/libyuanzhu.so.$(SOVERSION) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/yuanzhu.pc $(DESTDIR)$(INCLUDEDIR)/yuanzhu.h \
	    $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MANPAGES)))
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz $(BIN) bin/yuanzhu-asan bin/yuanzhu-tsan

-include $(wildcard $(BUILD)/engine/*.d $(BUILD)/engine/cli/*.d $(BUILD)/tests/unit/*.d $(BUILD)/tests/embed/*.d $(BUILD)/engine/serve/*.d)
