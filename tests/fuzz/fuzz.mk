# tests/fuzz/fuzz.mk: libFuzzer harnesses (included by the top Makefile).
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ="policy record"] build into build-fuzz/ with clang's libFuzzer,
#                                                       ASan and UBSan, and run each harness for
#                                                       FUZZ_SECONDS on its corpus, one at a time
#   $(BUILD)/fuzz-driver-<h>                            the same harness without libFuzzer: replays
#                                                       files (tests/fuzz/regress.sh, in make test)
#
# Harnesses: tests/fuzz/fuzz_<h>.c; seeds: tests/fuzz/corpus/<h>/; reproducers of bugs found:
# tests/fuzz/regress/<h>/.  The corpus grows in build-fuzz/corpus/<h>, so the tree stays clean.

FUZZ_HARNESSES = policy record csv rulelib json
FUZZ_SECONDS ?= 60
FUZZ ?= $(FUZZ_HARNESSES)
FUZZ_BUILD = build-fuzz
FUZZ_SAN = address,undefined
FUZZ_CFLAGS = -O1 -g -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer

.PHONY: fuzz fuzz-build clean-fuzz

fuzz: deps-check
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang CXX=clang++ CFLAGS="$(FUZZ_CFLAGS)" \
	    LDFLAGS="-fsanitize=$(FUZZ_SAN)" fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ)

fuzz-build: $(FUZZ_HARNESSES:%=$(BUILD)/fuzz_%)

# libFuzzer's own main: only at link time (the objects carry -fsanitize=fuzzer-no-link)
$(BUILD)/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/libyuanzhu-internal.a
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libyuanzhu-internal.a $(LIBS)

# the replay drivers are built with the unit tests, so make test and make check both have them
unit: $(FUZZ_HARNESSES:%=$(BUILD)/fuzz-driver-%)

$(BUILD)/fuzz-driver-%: $(BUILD)/tests/fuzz/driver.o $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/libyuanzhu-internal.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(BUILD)/tests/fuzz/driver.o $(BUILD)/tests/fuzz/fuzz_$*.o \
	    $(BUILD)/libyuanzhu-internal.a $(LIBS)

.PRECIOUS: $(BUILD)/tests/fuzz/%.o

clean: clean-fuzz
clean-fuzz:
	rm -rf $(FUZZ_BUILD)

-include $(wildcard $(BUILD)/tests/fuzz/*.d)
