# berth — one non-recursive Makefile.  `make`, `make check`, `make run`, `make deps`.
# The user's CFLAGS/LDFLAGS are kept apart from what the build needs (BERTH_*).

BUILD    ?= build
SAN      ?=
V        ?=
CC       ?= cc
CFLAGS   ?= -O2 -g -D_FORTIFY_SOURCE=2
LDFLAGS  ?=
PKGS     := libmicrohttpd jansson librrd libbpf libcurl libcrypto libarchive zlib libsystemd

ifeq ($(V),)
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
else
Q :=
say =
endif

BERTH_CFLAGS  := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-format-truncation \
                 -D_GNU_SOURCE -iquote . -iquote $(BUILD) -MMD -MP $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
BERTH_LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
ifneq ($(SAN),)
BERTH_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
BERTH_LDFLAGS := -fsanitize=address,undefined
CFLAGS        := -O1 -g
endif

# Per-folder object lists (dependencies point one way: web -> alarms -> collector -> runtime -> common).
common_SRC    := $(wildcard common/*.c)
runtime_SRC   := $(wildcard runtime/*.c)
collector_SRC := $(wildcard collector/*.c)
alarms_SRC    := $(wildcard alarms/*.c)
web_SRC       := $(wildcard web/*.c)
bpf_SRC       := $(filter-out %.bpf.c,$(wildcard bpf/*.c))
# eBPF programs (CO-RE, libbpf-tools layout): bpf/x.bpf.c + bpf/x.h -> $(BUILD)/bpf/x.skel.h.
BPF_PROGS     := $(wildcard bpf/*.bpf.c)
BPF_SKELS     := $(BPF_PROGS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
CLANG         ?= clang
BPFTOOL       ?= bpftool
LIB_SRC       := $(common_SRC) $(runtime_SRC) $(bpf_SRC) $(collector_SRC) $(alarms_SRC) $(web_SRC)
LIB_OBJ       := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC      := $(wildcard tests/unit/test_*.c)
UNIT_BIN      := $(UNIT_SRC:%.c=$(BUILD)/%)
FUZZ_SRC      := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN      := $(FUZZ_SRC:%.c=$(BUILD)/%)
BENCH_SRC     := $(wildcard tests/bench/*.c)
BENCH_BIN     := $(BENCH_SRC:%.c=$(BUILD)/%)
TOOL_SRC      := $(wildcard tests/tools/*.c)
TOOL_BIN      := $(TOOL_SRC:%.c=$(BUILD)/%)
PROGS         := $(BUILD)/berthd $(BUILD)/berthctl $(BUILD)/berth-warm

all: $(PROGS)

# A flags stamp: changing flags rebuilds everything.
FLAGS_NOW := $(CC) $(CPPFLAGS) $(CFLAGS) $(BERTH_CFLAGS) $(LDFLAGS) $(BERTH_LDFLAGS)
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@

$(BUILD)/obj/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) $(BERTH_CFLAGS) -c -o $@ $<

# BPF objects are never sanitized: the kernel runs them.
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/%.h bpf/common.bpf.h bpf/vmlinux.h
	@mkdir -p $(dir $@)
	$(call say,BPF,$<)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -Ibpf -c -o $@ $<

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call say,GEN,$@)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(patsubst %.c,$(BUILD)/obj/%.o,$(bpf_SRC)): $(BPF_SKELS)

$(BUILD)/libberth.a: $(LIB_OBJ)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(BUILD)/berthd: $(BUILD)/obj/cmd/berthd.o $(BUILD)/libberth.a
	$(call say,LINK,$@)$(CC) $(LDFLAGS) $(BERTH_LDFLAGS) -o $@ $^ $(BERTH_LDLIBS)

# The warm containers' program: linked with libc and jansson only, so that a container's exec
# from it tears down a small address space (berthd's maps 87 libraries).
$(BUILD)/berth-warm: $(BUILD)/obj/cmd/berth-warm.o $(BUILD)/libberth.a
	$(call say,LINK,$@)$(CC) $(LDFLAGS) $(BERTH_LDFLAGS) -Wl,--as-needed -o $@ $^ $(shell pkg-config --libs jansson)

$(BUILD)/berthctl: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cmd/berthctl*.c)) $(BUILD)/libberth.a
	$(call say,LINK,$@)$(CC) $(LDFLAGS) $(BERTH_LDFLAGS) -o $@ $^ $(BERTH_LDLIBS)

$(BUILD)/tests/fuzz/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/driver.o $(BUILD)/libberth.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(LDFLAGS) $(BERTH_LDFLAGS) -o $@ $^ $(BERTH_LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/libberth.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(LDFLAGS) $(BERTH_LDFLAGS) -o $@ $^ $(BERTH_LDLIBS)

tests: $(UNIT_BIN) $(FUZZ_BIN) $(BENCH_BIN) $(TOOL_BIN)

# Debian packages needed to build, run and test; installed only when missing.
DEPS := build-essential pkg-config clang llvm bpftool libbpf-dev libmicrohttpd-dev libjansson-dev \
        librrd-dev rrdtool rrdcached libcurl4-openssl-dev libssl-dev libarchive-dev zlib1g-dev \
        libsystemd-dev awscli busybox-static runc valgrind curl python3 iproute2 util-linux \
        prometheus collectd-core libjs-chart.js chromium nodejs
DEPS += debhelper dpkg-dev fakeroot lintian debootstrap systemd zstd
deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "  DEPS    installing:" $$missing; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; } >$(BUILD).deps.log 2>&1 \
	    || { cat $(BUILD).deps.log; exit 1; }; \
	fi
	@# npm for the browser tests' playwright-core: Debian's package, unless node already brings one.
	@command -v npm >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  --no-install-recommends npm >>$(BUILD).deps.log 2>&1 || { cat $(BUILD).deps.log; exit 1; }; }

RUN_LISTEN ?= 127.0.0.1:8080
run: deps all
	$(Q)packaging/demo/run.sh $(BUILD) $(RUN_LISTEN)

check: deps
	$(Q)$(MAKE) --no-print-directory -j$$(nproc) all tests
	$(Q)$(MAKE) --no-print-directory -j$$(nproc) BUILD=build/asan SAN=1 all tests
	$(Q)tests/run.sh build build/asan

fuzz: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang FUZZ=1 all

# Installation (DESTDIR-aware; the Debian package uses it): programs, the configuration file
# with every key's default (generated from berthd's own key table), man pages, completion and
# the dashboard when the tree has one.
prefix      ?= /usr
sysconfdir  ?= /etc
DESTDIR     ?=
GEN         := $(BUILD)/gen
install: all $(GEN)/berthd.conf $(GEN)/berthd.conf.5
	install -d $(DESTDIR)$(prefix)/sbin $(DESTDIR)$(prefix)/bin $(DESTDIR)$(sysconfdir)/berth \
		$(DESTDIR)$(prefix)/share/man/man1 $(DESTDIR)$(prefix)/share/man/man5 \
		$(DESTDIR)$(prefix)/share/man/man8 $(DESTDIR)$(prefix)/share/bash-completion/completions
	install -m 0755 $(BUILD)/berthd $(DESTDIR)$(prefix)/sbin/berthd
	install -m 0755 $(BUILD)/berthctl $(DESTDIR)$(prefix)/bin/berthctl
	install -d $(DESTDIR)$(prefix)/lib/berth
	install -m 0755 $(BUILD)/berth-warm $(DESTDIR)$(prefix)/lib/berth/berth-warm
	install -m 0644 $(GEN)/berthd.conf $(DESTDIR)$(sysconfdir)/berth/berthd.conf
	install -m 0644 packaging/man/berthd.8 $(DESTDIR)$(prefix)/share/man/man8/berthd.8
	install -m 0644 packaging/man/berthctl.1 $(DESTDIR)$(prefix)/share/man/man1/berthctl.1
	install -m 0644 $(GEN)/berthd.conf.5 $(DESTDIR)$(prefix)/share/man/man5/berthd.conf.5
	install -m 0644 packaging/bash-completion/berthctl \
		$(DESTDIR)$(prefix)/share/bash-completion/completions/berthctl
	if [ -d web/static ]; then \
		install -d $(DESTDIR)$(prefix)/share/berth/web && \
		cp -R --no-preserve=ownership web/static/. $(DESTDIR)$(prefix)/share/berth/web/ && \
		find $(DESTDIR)$(prefix)/share/berth/web -type d -exec chmod 0755 {} + && \
		find $(DESTDIR)$(prefix)/share/berth/web -type f -exec chmod 0644 {} +; \
	fi

# The installed configuration: every key commented out at its default, except the paths the
# installed daemon uses (see docs/operations.md).
$(GEN)/berthd.conf: $(BUILD)/berthd packaging/gen-config.sh
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)packaging/gen-config.sh conf $(BUILD)/berthd \
		data_dir=/var/lib/berth log_dir=/var/log/berth/tasks '?web_root=$(prefix)/share/berth/web' \
		>$@.tmp && mv $@.tmp $@
$(GEN)/berthd.conf.5: $(BUILD)/berthd packaging/gen-config.sh packaging/man/berthd.conf.5.in
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)packaging/gen-config.sh man $(BUILD)/berthd <packaging/man/berthd.conf.5.in >$@.tmp \
		&& mv $@.tmp $@

# The Debian package: a copy of the tree under $(BUILD)/deb with packaging/debian as debian/,
# built with dpkg-buildpackage; the .deb files end up in $(BUILD)/.
DEB_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
deb:
	$(Q)packaging/make-deb.sh $(BUILD) $(DEB_JOBS)

clean:
	rm -rf build build.deps.log

.PHONY: all tests deps run check clean fuzz install deb FORCE
.SECONDARY:
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
