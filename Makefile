# anyns top-level Makefile. Each folder adds its programs through a Makefile.inc
# fragment included below; objects go to $(B) (default build/), so a second
# compiler or a sanitizer build lives beside the first: make B=build/clang CC=clang
#
#   make            build everything (gcc, -Werror)
#   make run        install what is missing, build, serve zones/example.com.zone on :5353
#   make test       install, build (gcc, clang, ASan+UBSan) and run every test
#   make bench      dnsperf benchmark against NSD and Knot DNS (FULL=1 for the long run)
#   make install    binaries, man pages, systemd units, examples (PREFIX, DESTDIR); make uninstall
#   make lab        bring up the multi-PoP network-namespace lab; make lab-down removes it
#   make fuzz       fuzz the answer engine, zone loader, TCP framing and config reader (libFuzzer, bounded time)
#   make mutate     apply known bugs to a copy of the tree; some check must catch each

B       ?= build
CC      ?= cc
SAN     ?=
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -fno-strict-aliasing -pthread -Icommon $(SAN)
LDFLAGS += -pthread $(SAN)
PKGS     = ldns libuv libbpf yaml-0.1 liburcu libmicrohttpd cmocka libcrypto
PKGCFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS  += $(PKGCFLAGS)

LDNS_LIBS   = $(shell pkg-config --libs ldns 2>/dev/null || echo -lldns)
UV_LIBS     = $(shell pkg-config --libs libuv 2>/dev/null || echo -luv)
BPF_LIBS    = $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)
YAML_LIBS   = $(shell pkg-config --libs yaml-0.1 2>/dev/null || echo -lyaml)
URCU_LIBS   = $(shell pkg-config --libs liburcu 2>/dev/null || echo -lurcu)
MHD_LIBS    = $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
CRYPTO_LIBS = $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
SYSTEMD_LIBS = $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)

# Include paths: common/ for everyone; each fragment adds what its own objects
# need (the engine's server/lib, the XDP loader's server/xdp), so a program
# includes only the headers of what it links.

# Filled by the fragments.
PROGS      :=
UNIT_TESTS :=
CLEAN      :=

objs = $(patsubst %.c,$(B)/%.o,$(1))

.PHONY: all deps run test test-build bench lab lab-down fuzz fuzz-build mutate clean
all: $(B)/.stamp-progs

include common/Makefile.inc
include server/lib/Makefile.inc
include server/daemon/Makefile.inc
include server/ctl/Makefile.inc
include server/xdp/Makefile.inc
include zones/Makefile.inc
include bgp-hook/Makefile.inc
include bench/Makefile.inc
include tests/Makefile.inc
include mk/install.mk

$(B)/.stamp-progs: $(PROGS) $(UNIT_TESTS)
	@touch $@

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# $(B)/docker holds tests/docker's engine and base image, not objects.
-include $(shell find $(B) -path $(B)/docker -prune -o -name '*.d' -type f -print 2>/dev/null)

deps:
	@bash mk/deps.sh

# As root the server becomes RUN_USER once its sockets are bound and the zone
# is read (anynsd refuses to keep root unless told: RUN_USER=root).
RUN_USER ?= $(if $(filter 0,$(shell id -u)),nobody)
run: deps
	@$(MAKE) --no-print-directory all
	$(B)/anynsd --listen 127.0.0.1:5353 --listen [::1]:5353 $(if $(RUN_USER),--user $(RUN_USER)) \
		--zone example.com=zones/example.com.zone --identity anyns-local

# Every test suite; the closing lines count the results by kind (checks of
# anyns, repeats, reference servers, harness, builds), then all of them.
test: deps
	@bash tests/run-all.sh

# Every mutant of tests/mutate (make test runs the ones marked quick).
mutate: all
	@bash tests/mutate/run.sh

clean:
	rm -rf build $(CLEAN)
