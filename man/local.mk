# SPDX-License-Identifier: MIT
# man/: the man pages, generated at build time from include/tricolor.h by
# man/gen-man.py (so they cannot drift from the header): tricolor(3), one
# page per function family, and a one-line page per other name that
# sources its family's. $(PYTHON3) is found by configure (python3 is a build
# dependency); `make dist` ships the generator (EXTRA_DIST below), and a
# tarball's build generates the pages the same way. Installed by `make install` into $(man3dir);
# checked by tests/packaging/man.sh (groff -man -ww, every TRI_API name).
man3dir = $(mandir)/man3
EXTRA_DIST += man/gen-man.py man/local.mk

man/stamp: $(srcdir)/include/tricolor.h $(srcdir)/man/gen-man.py
	@$(MKDIR_P) man
	$(AM_V_GEN)$(PYTHON3) $(srcdir)/man/gen-man.py $(srcdir)/include/tricolor.h man $(PACKAGE_VERSION)
	@touch $@
all-local: man/stamp

install-data-local: man/stamp
	$(MKDIR_P) '$(DESTDIR)$(man3dir)'
	$(INSTALL_DATA) man/*.3 '$(DESTDIR)$(man3dir)'
uninstall-local:
	for f in man/*.3; do rm -f "$(DESTDIR)$(man3dir)/$${f#man/}"; done
clean-local:
	rm -f man/*.3 man/stamp
