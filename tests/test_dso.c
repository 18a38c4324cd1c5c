/* SPDX-License-Identifier: MIT */
/*
 * test_dso.c - a tiny shared library that tests/test_api.c dlopens: its
 * bss slot must be a root once data_roots scans loaded libraries.
 */
void *tri_test_dso_slot; /* bss */
void **tri_test_dso_slot_addr(void);
void **tri_test_dso_slot_addr(void)
{
	return &tri_test_dso_slot;
}
