# SPDX-License-Identifier: MIT
# tests/probes.mk: the built library carries the USDT probes docs/perf.md
# documents (readelf -n lists a stapsdt note per probe site).
TESTS += tests/test_probes.sh
EXTRA_DIST += tests/test_probes.sh
