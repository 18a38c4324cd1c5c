/* SPDX-License-Identifier: MIT */
/*
 * version.c - tri_version: the library's version, from configure's
 * AC_INIT (PACKAGE_VERSION in config.h). No data, no state; any thread.
 * tests/test_api.c checks that it matches the header's TRI_VERSION_*
 * macros, so a release that bumps one without the other fails make check.
 */
#include "config.h"
#include "tricolor.h"

const char *tri_version(void)
{
	return PACKAGE_VERSION;
}
