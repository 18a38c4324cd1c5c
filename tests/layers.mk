# SPDX-License-Identifier: MIT
# tests/layers.mk: the architecture checks.
#  layers/check.sh   no include or call goes upward in the layer order of
#                    docs/design.md ("Layers") except those listed in
#                    scripts/layers-allow.txt (scripts/check-layers)
LAYER_CHECKS = tests/layers/check.sh
TESTS += $(LAYER_CHECKS)
EXTRA_DIST += $(LAYER_CHECKS) tests/layers.mk scripts/check-layers scripts/layers-allow.txt
