// Instruction-set selection for the fast integer kernels, at RUN time: one
// binary runs on any x86-64 (and builds on non-x86, where only the portable
// path exists). The ISA-specific kernels live in their own translation units
// (int8_avx512vnni.cpp, int8_avx2.cpp) compiled with per-file flags
// (CMakeLists.txt); nothing else is built for more than the baseline ISA.
//
//   portable    - the SSE2/C++ kernels (conv_fast.cpp, linear_fast.cpp)
//   avx2        - int16 vpmaddwd kernels (exact: no vpmaddubsw saturation)
//   avx512vnni  - u8 x s8 vpdpbusd kernels (AVX-512 F/BW/VL/VNNI)
//
// SelectedIsa() is the best the CPU supports, capped by the environment
// variable QACCEL_ISA=portable|avx2|avx512vnni (so tests can run every path
// on one machine). All paths are bit-identical (tests/kernels/test_isa_kernels.cpp).
#pragma once

#include <string>

namespace qaccel::kernels::fast {

enum class Isa { kPortable = 0, kAvx2 = 1, kAvx512Vnni = 2 };

Isa DetectedIsa();  // the best path this CPU can run
// min(DetectedIsa(), $QACCEL_ISA); read at every call (engines pick it when built).
Isa SelectedIsa();
const char* IsaName(Isa isa);
// "portable" / "avx2" / "avx512vnni" -> isa; false for anything else.
bool ParseIsa(const std::string& name, Isa* isa);

}  // namespace qaccel::kernels::fast
