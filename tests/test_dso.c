/* SPDX-License-Identifier: MIT */
/*
 * test_dso.c - a tiny shared library that tests/test_api.c dlopens: its
 * bss slot must be a root once data_roots scans loaded libraries; its
 * thread-local slot, dlopen'd after the thread attached, is not a root
 * until the thread registers it with tri_add_roots.
 */
void *tri_test_dso_slot; /* bss */
void **tri_test_dso_slot_addr(void);
void **tri_test_dso_slot_addr(void)
{
	return &tri_test_dso_slot;
}

__thread void *tri_test_dso_tls_slot; /* this module's TLS, allocated lazily */
void **tri_test_dso_tls_slot_addr(void);
void **tri_test_dso_tls_slot_addr(void)
{
	return &tri_test_dso_tls_slot;
}
