# castiron — build, test, check, bench, install, demo.
#
# One binary (build/castiron) from every subsystem folder, a static
# host-side writer (build/castiron-writer), cmocka unit tests linked against
# only the objects they test, and shell integration tests that drive the
# real binary.  `make test` and `make demo` install missing Debian packages
# first (as root; otherwise they print the apt-get line and stop).

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS     := libcurl libssh2 sqlite3 libpq jansson libzstd zlib libcrypto libsystemd libfreeipmi \
	libmicrohttpd
CPPFLAGS += -D_GNU_SOURCE -DCASTIRON_VERSION='"$(VERSION)"' -I. -I/usr/include/iniparser
CPPFLAGS += $(shell pkg-config --cflags libpq 2>/dev/null)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Wshadow -Wformat=2 -Wno-missing-field-initializers
ifdef CI
CFLAGS   += -Werror
endif
LDLIBS   += -liniparser $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

# Every subsystem folder contributes its .c files; cli/ holds main().
SUBSYS   := lib inventory images provision provision/bmc provision/boot bgp
LIB_SRC  := $(foreach d,$(SUBSYS),$(wildcard $(d)/*.c))
CLI_SRC  := $(wildcard cli/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
DEPS     := $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Programs the lab's integration tests drive (tests/lab/*.c), linked
# against the whole library like the binary.
LAB_BIN  := $(BUILD)/tests/bmc-probe

# The Debian packages the project builds, tests, benchmarks and demos with.
DEBS_BUILD := build-essential pkg-config libcurl4-openssl-dev libssh2-1-dev \
	libiniparser-dev libsqlite3-dev libjansson-dev libzstd-dev zlib1g-dev \
	libssl-dev libsystemd-dev libcmocka-dev libfreeipmi-dev libpq-dev libmicrohttpd-dev \
	cpio zstd kmod binutils
# What images/recipes/*/build needs on the build host (GRUB comes from the
# image's own grub-pc-bin and grub-efi-amd64-bin).
DEBS_IMAGES := mmdebstrap e2fsprogs fdisk util-linux dosfstools mtools zstd
DEBS_TEST  := $(DEBS_BUILD) $(DEBS_IMAGES) sqlite3 python3 iproute2 bird2 openssh-server pci.ids \
	openssh-client dropbear busybox-static bmap-tools zstd gzip chromium \
	cppcheck clang libclang-rt-14-dev util-linux fdisk e2fsprogs kmod time procps \
	openssl jq bc man-db mandoc coreutils curl systemd stress-ng \
	qemu-system-x86 qemu-utils ipxe-qemu openipmi ipmitool redfishtool python3-sushy \
	postgresql-15 signify-openbsd dnsmasq-base strace ovmf
DEBS_BENCH := $(DEBS_TEST) exabgp hyperfine

.PHONY: deploy images FORCE all test unit integration check bench install demo clean deps-build deps-test deps-bench fuzz fuzz-merge check-under-load golden

all: $(BUILD)/castiron

$(BUILD)/castiron: $(CLI_OBJ) $(LIB_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(DEPS)

$(LAB_BIN): $(BUILD)/tests/%: tests/lab/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

# images/writer.mk adds build/castiron-writer to `all`.
-include images/writer.mk

# Unit tests: tests/unit/test_X.c links the sources UNIT_X names and the
# libraries UNIT_X_LIBS names, and nothing else (never cli/): a test of the
# bmap parser carries neither SQLite nor libssh2 nor the bgp daemon.  A test
# that calls into another file fails to link until that file is listed.
UNIT_atomicfile      := lib/atomicfile.c lib/err.c lib/log.c lib/xmalloc.c
UNIT_bgp             := bgp/announce.c bgp/bird.c bgp/check.c bgp/check_exec.c \
	bgp/check_http.c bgp/check_tcp.c bgp/controller.c bgp/timer.c lib/atomicfile.c lib/clock.c \
	lib/config.c \
	lib/err.c lib/log.c lib/parse.c lib/xmalloc.c
UNIT_bgp_LIBS        := -lcurl -liniparser
UNIT_bmc_ipmi        := provision/bmc/bmc.c provision/bmc/ipmi.c lib/clock.c lib/err.c \
	lib/log.c lib/parse.c lib/xmalloc.c
UNIT_bmc_ipmi_LIBS   := -lfreeipmi -lpthread
UNIT_bmap            := images/bmap.c images/bmap_create.c images/digest.c \
	lib/err.c lib/file.c lib/log.c lib/parse.c lib/xmalloc.c
UNIT_bmap_LIBS       := -lcrypto
UNIT_catalog         := images/catalog_text.c images/signify.c lib/err.c lib/file.c \
	lib/log.c lib/parse.c lib/xmalloc.c
UNIT_catalog_LIBS    := -lcrypto
UNIT_err             := lib/err.c
UNIT_redfish         := provision/bmc/redfish_json.c lib/err.c
UNIT_redfish_LIBS    := -ljansson
UNIT_boot            := provision/boot/state.c provision/boot/ipxe.c provision/boot/enlist.c \
	provision/inspect.c lib/atomicfile.c lib/err.c lib/file.c lib/log.c lib/parse.c lib/xmalloc.c
UNIT_boot_LIBS       := -ljansson
UNIT_config          := lib/config.c lib/err.c lib/log.c lib/parse.c lib/xmalloc.c
UNIT_config_LIBS     := -liniparser
UNIT_csv             := inventory/csv.c lib/err.c lib/log.c lib/xmalloc.c
UNIT_frame           := images/digest.c images/frame.c lib/err.c lib/log.c lib/xmalloc.c
UNIT_frame_LIBS      := -lcrypto
UNIT_split           := images/split.c images/bmap.c images/bmap_create.c \
	images/digest.c images/frame.c lib/err.c lib/file.c lib/log.c lib/parse.c \
	lib/xmalloc.c
UNIT_split_LIBS      := -lcrypto
UNIT_walk            := images/walk.c images/source.c images/bmap.c images/bmap_create.c \
	images/digest.c images/target.c images/write.c images/parttable.c lib/err.c \
	lib/file.c lib/log.c lib/parse.c lib/xmalloc.c
UNIT_walk_LIBS       := -lzstd -lz -lcrypto -lpthread
UNIT_grubcfg         := provision/grubcfg.c provision/grubscript.c provision/grubtest.c \
	lib/err.c lib/log.c lib/xmalloc.c
UNIT_hoststate       := inventory/hoststate.c
UNIT_inspect         := provision/inspect.c lib/err.c lib/log.c lib/parse.c lib/xmalloc.c
UNIT_inventory       := inventory/be_pg.c inventory/be_sqlite.c inventory/csv.c \
	inventory/db.c inventory/discover.c inventory/enroll.c inventory/facts.c inventory/host.c \
	inventory/hoststate.c inventory/migrate.c inventory/nics.c inventory/query.c lib/file.c \
	lib/err.c lib/log.c lib/output.c lib/parse.c lib/sshkey.c lib/xmalloc.c
UNIT_inventory_LIBS  := -lsqlite3 -lpq -ljansson -lcrypto
UNIT_output          := lib/output.c lib/log.c lib/xmalloc.c
UNIT_output_LIBS     := -ljansson
UNIT_parse           := lib/err.c lib/parse.c
UNIT_shell           := provision/shell.c provision/trust.c lib/err.c lib/log.c \
	lib/xmalloc.c
UNIT_role            := provision/role.c lib/config.c lib/err.c lib/file.c lib/log.c \
	lib/parse.c lib/xmalloc.c
UNIT_role_LIBS       := -liniparser
UNIT_rsakey          := provision/rsakey.c lib/err.c lib/log.c lib/xmalloc.c
UNIT_rsakey_LIBS     := -lcrypto

# The deploy environment ($(BUILD)/deploy: vmlinuz, initrd.img, manifest,
# SHA256SUMS) from Debian packages, by images/recipes/deploy/build (its
# header says how; docs/netboot.md what it does).  Not part of `all`: its
# first build downloads about 32 MB from Debian's archive (no root; the
# .debs are kept in $(BUILD)/deploy/debs).  `make test` and `make check`
# build it.  $(BUILD)/deploy/inputs (the package versions apt would use,
# SOURCE_DATE_EPOCH) is rewritten only when it changes, so a second
# `make deploy` with nothing changed does nothing.
DEPLOY     := $(BUILD)/deploy
DEPLOY_SRC := $(filter-out %.c,$(wildcard images/recipes/deploy/*))
deploy: $(DEPLOY)/manifest
$(DEPLOY)/inputs: FORCE
	@mkdir -p $(@D)
	@images/recipes/deploy/build inputs >$@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi
# print-inspect links what the inspection's unit test links (UNIT_inspect).
$(DEPLOY)/print-inspect: images/recipes/deploy/print-inspect.c \
		$(addprefix $(BUILD)/,$(UNIT_inspect:.c=.o))
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^
$(DEPLOY)/inspect.sh: $(DEPLOY)/print-inspect
	$< >$@.new && mv -f $@.new $@
$(DEPLOY)/manifest: $(DEPLOY)/inputs $(DEPLOY_SRC) $(DEPLOY)/inspect.sh \
		$(BUILD)/castiron-writer-static
	images/recipes/deploy/build image $(DEPLOY) $(BUILD)/castiron-writer-static \
		$(DEPLOY)/inspect.sh
FORCE:

# The operating system images castiron installs (images/recipes/NAME/:
# its build's header says what is in one and how it is made), each in a
# cache entry named by a digest of every input (the recipe, the package
# versions apt resolves, SOURCE_DATE_EPOCH, castiron's sources, the build
# tools): IMAGES_CACHE/NAME/KEY/ holds NAME.img.zst, NAME.bmap,
# SHA256SUMS, packages and manifest.  An entry already built is not built
# again: `make images` then only says where it is.  Needs root (mmdebstrap
# --mode=root); the first build downloads about 120 MB of .debs, kept in
# IMAGES_CACHE/debs.  Worktrees and test runs can share one cache:
# IMAGES_CACHE=DIR.  Tests find an image with tests/lab/osimage NAME.
IMAGES_CACHE  ?= $(BUILD)/images
IMAGE_RECIPES := debian12
images:
	@for r in $(IMAGE_RECIPES); do images/recipes/$$r/build image $(IMAGES_CACHE) || exit 1; done
# make test and make check build them when they can (as root).
IMAGES_IF_ROOT = if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory images; \
	else echo "images: not root, not built (the tests that boot them skip)"; fi

.SECONDEXPANSION:
$(BUILD)/tests/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h) \
		$$(addprefix $(BUILD)/,$$(addsuffix .o,$$(basename $$(UNIT_$$*))))
	@[ -n "$(UNIT_$*)" ] || { echo "$<: name the sources it links in UNIT_$* in the Makefile"; exit 1; }
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(filter %.o,$^) \
		$(UNIT_$*_LIBS) -lcmocka

deps-build:
	@tests/lab/need-debs $(DEBS_BUILD)
deps-test:
	@tests/lab/need-debs $(DEBS_TEST)
deps-bench:
	@tests/lab/need-debs $(DEBS_BENCH)

unit: $(UNIT_BIN)
test: deps-test
	@$(MAKE) --no-print-directory all deploy $(UNIT_BIN) $(LAB_BIN)
	@$(IMAGES_IF_ROOT)
	@BUILD=$(BUILD) IMAGES_CACHE=$(abspath $(IMAGES_CACHE)) tests/run

# The whole suite again under AddressSanitizer, LeakSanitizer and UBSan,
# then cppcheck and a short run of every fuzzer.  The sanitized build uses
# clang: GCC 12's UBSan ignores log_path, and tests/run finds sanitizer
# reports by the files they write (see tests/run).
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_MAKE = $(MAKE) --no-print-directory CC=clang BUILD=build-san CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)"
check: deps-test
	@$(SAN_MAKE) all deploy
	@$(SAN_MAKE) \
		$(UNIT_SRC:tests/unit/%.c=build-san/tests/%) \
		$(LAB_BIN:$(BUILD)/%=build-san/%)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --std=c11 -D_GNU_SOURCE -I. --suppress=missingIncludeSystem \
		$(SUBSYS) cli
	@$(MAKE) --no-print-directory fuzz
	@$(IMAGES_IF_ROOT)
	@ASAN_OPTIONS=detect_leaks=1 BUILD=build-san IMAGES_CACHE=$(abspath $(IMAGES_CACHE)) tests/run

# Each fuzzer starts from its seeds (tests/fuzz/NAME.seeds: one input of
# every record type, each within FUZZ_MAXLEN, or it would be cut) and from
# the corpus committed under tests/fuzz/NAME.corpus, so a run starts where
# the last committed one left off; what a run finds goes to
# $(BUILD)/fuzz/NAME.corpus.  `make fuzz-merge` minimises that into the
# committed corpus, to commit.
# The whole of make check while stress-ng keeps every CPU busy.
check-under-load: deps-test
	@tests/under-load $(MAKE) --no-print-directory check

FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_MAXLEN ?= 8192
FUZZ_BUILD   = mkdir -p $(BUILD)/fuzz/$$n.corpus tests/fuzz/$$n.corpus; \
	clang $(CPPFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -o $(BUILD)/fuzz/$$n $$f \
		$$(cat tests/fuzz/$$n.srcs) $(LDLIBS)
fuzz:
	@set -e; for f in $(FUZZ_SRC); do \
		n=$$(basename $$f .c); $(FUZZ_BUILD); \
		for s in tests/fuzz/$$n.seeds/*; do \
			[ $$(wc -c <$$s) -le $(FUZZ_MAXLEN) ] || \
				{ echo "$$s: longer than FUZZ_MAXLEN=$(FUZZ_MAXLEN), the fuzzer would cut it"; exit 1; }; \
		done; \
		$(BUILD)/fuzz/$$n -max_total_time=$${FUZZ_SECONDS:-20} -max_len=$(FUZZ_MAXLEN) \
			$(BUILD)/fuzz/$$n.corpus tests/fuzz/$$n.corpus tests/fuzz/$$n.seeds \
			2>$(BUILD)/fuzz/$$n.log || { tail -40 $(BUILD)/fuzz/$$n.log; exit 1; }; \
		echo "fuzz $$n: $$(grep -o 'cov: [0-9]*' $(BUILD)/fuzz/$$n.log | tail -n 1)," \
			"$$(ls tests/fuzz/$$n.corpus | wc -l) committed + $$(ls $(BUILD)/fuzz/$$n.corpus | wc -l) new inputs, no crash"; \
	done
fuzz-merge:
	@set -e; for f in $(FUZZ_SRC); do \
		n=$$(basename $$f .c); $(FUZZ_BUILD); \
		mkdir -p $(BUILD)/fuzz/$$n.merged; rm -f $(BUILD)/fuzz/$$n.merged/*; \
		$(BUILD)/fuzz/$$n -merge=1 -max_len=$(FUZZ_MAXLEN) $(BUILD)/fuzz/$$n.merged \
			tests/fuzz/$$n.corpus $(BUILD)/fuzz/$$n.corpus tests/fuzz/$$n.seeds \
			2>$(BUILD)/fuzz/$$n.merge.log; \
		rm -f tests/fuzz/$$n.corpus/*; cp $(BUILD)/fuzz/$$n.merged/* tests/fuzz/$$n.corpus/; \
		echo "fuzz $$n: $$(ls tests/fuzz/$$n.corpus | wc -l) inputs in tests/fuzz/$$n.corpus"; \
	done

# Rewrites tests/golden/ from what $(BUILD)/castiron prints now (--help,
# config check of each tests/golden/config/*.ini); review with git diff.
golden: all
	@GOLDEN_UPDATE=1 CASTIRON=$(CURDIR)/$(BUILD)/castiron sh tests/integration/golden.sh \
		>$(BUILD)/golden.log; rc=$$?; \
		grep -e ': wrote ' -e ': removed,' -e '^not ok' -e '^# ' $(BUILD)/golden.log; exit $$rc

bench: deps-bench all
	@$(IMAGES_IF_ROOT)
	@BUILD=$(BUILD) IMAGES_CACHE=$(abspath $(IMAGES_CACHE)) bench/run

demo: deps-test
	@$(MAKE) --no-print-directory all deploy
	@$(IMAGES_IF_ROOT)
	@BUILD=$(BUILD) IMAGES_CACHE=$(abspath $(IMAGES_CACHE)) tests/lab/demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/castiron $(DESTDIR)$(PREFIX)/lib/systemd/system \
		$(DESTDIR)$(PREFIX)/share/doc/castiron/examples
	install -m 0755 $(BUILD)/castiron $(DESTDIR)$(PREFIX)/bin/castiron
	[ ! -f $(BUILD)/castiron-writer ] || install -m 0755 $(BUILD)/castiron-writer \
		$(DESTDIR)$(PREFIX)/share/castiron/castiron-writer
	for f in vmlinuz initrd.img manifest SHA256SUMS; do [ ! -f $(DEPLOY)/$$f ] || \
		install -D -m 0644 $(DEPLOY)/$$f $(DESTDIR)$(PREFIX)/lib/castiron/deploy/$$f; done
	install -m 0644 docs/castiron.8 $(DESTDIR)$(PREFIX)/share/man/man8/castiron.8
	install -m 0644 docs/castiron.ini.5 $(DESTDIR)$(PREFIX)/share/man/man5/castiron.ini.5
	install -m 0644 etc/castiron.ini $(DESTDIR)$(PREFIX)/share/doc/castiron/examples/castiron.ini
	for f in etc/*.conf; do [ ! -f "$$f" ] || install -m 0644 "$$f" \
		$(DESTDIR)$(PREFIX)/share/doc/castiron/examples/; done
	for f in etc/*.service etc/*.timer; do [ ! -f "$$f" ] || install -m 0644 "$$f" \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/; done

clean:
	rm -rf build build-san
