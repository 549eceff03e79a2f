# make install / make uninstall: binaries to $(SBINDIR), man pages, systemd
# units (rendered with the paths below), example configs under the doc folder.
# DESTDIR stages everything under a root (packaging); PREFIX is where it runs.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/anyns
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL    ?= install

INSTALL_PROGS := anynsd anyns-ctl anyns-checkzone anyns-health
INSTALL_MANS  := $(notdir $(wildcard man/man8/*.8))
INSTALL_UNITS := anynsd.service anyns-health.service
INSTALL_EXAMPLES := server/daemon/anynsd.example.yaml bgp-hook/examples/bird.yaml \
	bgp-hook/examples/bird.conf bgp-hook/examples/exabgp.yaml bgp-hook/examples/exabgp.conf \
	bgp-hook/examples/gobgp.yaml bgp-hook/examples/frr.yaml bgp-hook/examples/exec.yaml

# Paths the units and examples name, as installed.
RENDER = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|/usr/local/sbin/anyns-|$(SBINDIR)/anyns-|g' -e 's|/etc/anyns/|$(SYSCONFDIR)/anyns/|g' \
	-e 's|zones-dir: \.\./\.\./zones  *\#.*|zones-dir: $(SYSCONFDIR)/anyns/zones|'

.PHONY: install uninstall
install: $(addprefix $(B)/,$(INSTALL_PROGS))
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 755 $(addprefix $(B)/,$(INSTALL_PROGS)) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 644 $(addprefix man/man8/,$(INSTALL_MANS)) $(DESTDIR)$(MANDIR)/man8/
	for u in $(INSTALL_UNITS); do \
		$(RENDER) systemd/$$u.in > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	for f in $(INSTALL_EXAMPLES); do \
		$(RENDER) $$f > $(DESTDIR)$(DOCDIR)/examples/$$(basename $$f) && \
		chmod 644 $(DESTDIR)$(DOCDIR)/examples/$$(basename $$f) || exit 1; done
	$(INSTALL) -m 644 systemd/anyns.sysusers $(DESTDIR)$(SYSUSERSDIR)/anyns.conf
	@# The user anynsd becomes, made now when installing for real as root
	@# (a package runs systemd-sysusers from its own scripts).
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && ! getent passwd anyns >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/anyns.conf && echo "created the system user anyns"; fi
	@echo "installed; copy $(DOCDIR)/examples/anynsd.example.yaml to $(SYSCONFDIR)/anyns/anynsd.yaml"

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(INSTALL_PROGS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(INSTALL_MANS))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(INSTALL_UNITS))
	rm -f $(DESTDIR)$(SYSUSERSDIR)/anyns.conf
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(INSTALL_EXAMPLES)))
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
