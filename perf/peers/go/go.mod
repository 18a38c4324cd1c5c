// SPDX-License-Identifier: MIT
module tricolor/perf/peers/go

go 1.19
