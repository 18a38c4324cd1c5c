# SPDX-License-Identifier: MIT
# tests/packaging.mk: what a user installing the library sees.
#  test_api              the libc-shaped calls, tri_version, thread names,
#                        TRI_BLOCKING, data_roots (with tests/test_dso.c, a
#                        small shared library it dlopens); test_api_static
#                        is the same with libtricolor linked statically
#  packaging/pkgconfig.sh  tricolor.pc: Cflags/Libs without ck or liburcu
#  packaging/exports.sh  libtricolor.so exports exactly the TRI_API names
#  packaging/cxx.sh      include/tricolor.h as C++11/17/20, g++ and clang++
#  packaging/man.sh      every TRI_API name is in a man page; pages render
#                        without groff warnings
#  packaging/docs.sh     docs name no development-machine paths; design.md's
#                        contents list matches its sections
#  packaging/spdx.sh     every source file (by extension, or a script by its
#                        #! line) has its SPDX license line
#  packaging/builddeps.sh  README's package list is what scripts/setup
#                        installs; python3 (the man generator) is in both,
#                        checked by configure, shipped by make dist

check_PROGRAMS += tests/test_api tests/test_api_static
TESTS += tests/test_api tests/test_api_static
tests_test_api_SOURCES = tests/test_api.c tests/test_support.h
tests_test_api_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_api_LDADD = libtricolor.la $(CHECK_LIBS) -ldl
EXTRA_tests_test_api_DEPENDENCIES = tests/libtri_test_dso.la
# The same tests with libtricolor linked statically (libtool -static).
tests_test_api_static_SOURCES = $(tests_test_api_SOURCES)
tests_test_api_static_CFLAGS = $(tests_test_api_CFLAGS)
tests_test_api_static_LDFLAGS = -static
tests_test_api_static_LDADD = $(tests_test_api_LDADD)
EXTRA_tests_test_api_static_DEPENDENCIES = tests/libtri_test_dso.la

check_LTLIBRARIES = tests/libtri_test_dso.la libtricolor-test.la

# libtricolor-test.la: the library as tests see it (a shared library, not
# installed) plus the test hooks of tests/test_hooks.c; linked without the
# version script. Tests that need a hook link it instead of libtricolor.la.
libtricolor_test_la_SOURCES = tests/test_hooks.c
libtricolor_test_la_CFLAGS = $(AM_CFLAGS) $(CK_CFLAGS) $(URCU_CFLAGS)
libtricolor_test_la_LIBADD = libtricolor-internal.la $(CK_LIBS) $(URCU_LIBS)
libtricolor_test_la_LDFLAGS = -rpath /nowhere -pthread
tests_libtri_test_dso_la_SOURCES = tests/test_dso.c
tests_libtri_test_dso_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

PACKAGING_CHECKS = tests/packaging/pkgconfig.sh tests/packaging/exports.sh \
	tests/packaging/cxx.sh tests/packaging/man.sh tests/packaging/docs.sh \
	tests/packaging/spdx.sh tests/packaging/builddeps.sh
TESTS += $(PACKAGING_CHECKS)
EXTRA_DIST += $(PACKAGING_CHECKS) tests/test_cxx.cc
AM_TESTS_ENVIRONMENT += TRI_SAN_CFLAGS='$(SAN_CFLAGS)'; export TRI_SAN_CFLAGS;
