# yuanzhu: employment-assistance eligibility engine (C11, Lua 5.4, libyaml, cJSON, OpenSSL, SQLite)
#
#   make            build bin/yuanzhu, build/libyuanzhu.a and build/libyuanzhu.so
#   make demo       install missing Debian packages, build, check an example applicant (Guangdong)
#   make test       install missing Debian packages, build, run every test
#   make check      the tests again under AddressSanitizer and UndefinedBehaviorSanitizer
#   make fuzz       run every libFuzzer harness for FUZZ_SECONDS (default 60) each
#   make valgrind   check, lint, test and replay under valgrind --leak-check=full
#   make bench      measure against the peer engines in ../shared/bench (not a test)
#   make install    PREFIX=/usr/local DESTDIR=     (make uninstall takes it away again)
#   make clean

PREFIX ?= /usr/local
DATADIR ?= $(PREFIX)/share/yuanzhu
CC ?= cc
CFLAGS ?= -O2 -g
PKGS = lua5.4 yaml-0.1 libcjson libcrypto sqlite3 libzstd
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
SCHEMAS = schemas/applicant-record.v1.schema.json schemas/policy.v1.schema.json schemas/store.sql \
          schemas/store-sign.sql

.PHONY: all deps deps-check demo test check fuzz valgrind bench install uninstall clean unit

all: $(BIN) $(BUILD)/libyuanzhu.a $(BUILD)/libyuanzhu.so

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
	    yz_embed_policy_schema=schemas/policy.v1.schema.json yz_embed_store_v1=schemas/store.sql \
	    yz_embed_store_sign=schemas/store-sign.sql

$(BUILD)/yz_embed.o: $(BUILD)/yz_embed.c Makefile
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The library as an embedder links it: the engine's objects linked into one whose only global
# symbols are the public API (internal names such as arena_alloc cannot clash with the
# embedder's).  The CLI links it too, so it can only use yuanzhu.h.
$(BUILD)/libyuanzhu.a: $(ENGINE_OBJ)
	@rm -f $@ $(BUILD)/yuanzhu.o
	$(LD) -r -o $(BUILD)/yuanzhu.o $^
	objcopy --localize-hidden $(BUILD)/yuanzhu.o
	ar rcs $@ $(BUILD)/yuanzhu.o

# every object with its internal symbols, for the unit tests and fuzz harnesses
$(BUILD)/libyuanzhu-internal.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

SOVERSION = 0
# every symbol resolved at link time (the sanitizer builds leave theirs to the runtime the
# executable carries)
SO_LDFLAGS ?= -Wl,--no-undefined
$(BUILD)/libyuanzhu.so.$(SOVERSION): $(ENGINE_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(SO_LDFLAGS) -shared -Wl,-soname,libyuanzhu.so.$(SOVERSION) -o $@ $^ \
	    $(PKG_LIBS) -lcsv -lpthread -lm

$(BUILD)/libyuanzhu.so: $(BUILD)/libyuanzhu.so.$(SOVERSION)
	ln -sf libyuanzhu.so.$(SOVERSION) $@

$(BIN): $(CLI_OBJ) $(BUILD)/libyuanzhu.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libyuanzhu.a $(LIBS)

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

test: deps
	@$(MAKE) --no-print-directory all unit
	@tests/run.sh

# a sanitizer report ends the process with 99, an exit status no test expects (the default, 1, is
# also "a test failed", so an expected failure could hide a report)
CHECK_SAN = exitcode=99:detect_leaks=1
check: deps-check
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=bin/yuanzhu-asan CC=clang \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    LDFLAGS="-fsanitize=address,undefined" SO_LDFLAGS= all unit
	@YZ_BIN=bin/yuanzhu-asan YZ_UNIT=build-asan/unit ASAN_OPTIONS=$(CHECK_SAN) UBSAN_OPTIONS=$(CHECK_SAN):print_stacktrace=1 \
	    tests/run.sh

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
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/yuanzhu
	install -m 644 $(BUILD)/libyuanzhu.a $(DESTDIR)$(PREFIX)/lib/libyuanzhu.a
	install -m 755 $(BUILD)/libyuanzhu.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libyuanzhu.so.$(SOVERSION)
	ln -sf libyuanzhu.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libyuanzhu.so
	install -m 644 engine/yuanzhu.h $(DESTDIR)$(PREFIX)/include/yuanzhu.h
	cp -R rules provinces schemas $(DESTDIR)$(DATADIR)/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/yuanzhu $(DESTDIR)$(PREFIX)/lib/libyuanzhu.a \
	    $(DESTDIR)$(PREFIX)/lib/libyuanzhu.so $(DESTDIR)$(PREFIX)/lib/libyuanzhu.so.$(SOVERSION) \
	    $(DESTDIR)$(PREFIX)/include/yuanzhu.h
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf $(BUILD) build-asan build-fuzz $(BIN) bin/yuanzhu-asan

-include $(wildcard $(BUILD)/engine/*.d $(BUILD)/engine/cli/*.d $(BUILD)/tests/unit/*.d $(BUILD)/tests/embed/*.d)
