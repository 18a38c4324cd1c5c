# SPDX-License-Identifier: MIT
# tests/layers.mk: the architecture checks.
#  layers/check.sh   no include or call goes upward in the layer order of
#                    docs/design.md ("Layers") except those listed in
#                    scripts/layers-allow.txt (scripts/check-layers)
#  layers/prefixes.sh  every internal global name has its module prefix; no
#                    prototypes or extern variable declarations in .c files
#                    (scripts/prefix-rename --check)
LAYER_CHECKS = tests/layers/check.sh tests/layers/prefixes.sh
TESTS += $(LAYER_CHECKS)
EXTRA_DIST += $(LAYER_CHECKS) tests/layers.mk scripts/check-layers scripts/layers-allow.txt \
	scripts/prefix-rename scripts/prefix-names.txt
