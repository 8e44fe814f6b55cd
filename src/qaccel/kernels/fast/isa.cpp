// Run-time ISA detection and the QACCEL_ISA override (see isa.h).
#include "qaccel/kernels/fast/isa.h"

#include <cstdlib>

#include "qaccel/core/error.h"

namespace qaccel::kernels::fast {

Isa DetectedIsa() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && \
    defined(QACCEL_HAVE_ISA_KERNELS)
  static const Isa detected = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
      return Isa::kAvx512Vnni;
    if (__builtin_cpu_supports("avx2")) return Isa::kAvx2;
    return Isa::kPortable;
  }();
  return detected;
#else
  return Isa::kPortable;
#endif
}

Isa SelectedIsa() {
  Isa isa = DetectedIsa();
  if (const char* env = std::getenv("QACCEL_ISA"); env && *env) {
    Isa want;
    Check(ParseIsa(env, &want), std::string("QACCEL_ISA='") + env +
                                    "' is not one of portable, avx2, avx512vnni");
    if (static_cast<int>(want) < static_cast<int>(isa)) isa = want;
  }
  return isa;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512Vnni:
      return "avx512vnni";
    case Isa::kAvx2:
      return "avx2";
    default:
      return "portable";
  }
}

bool ParseIsa(const std::string& name, Isa* isa) {
  for (Isa i : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512Vnni})
    if (name == IsaName(i)) {
      *isa = i;
      return true;
    }
  return false;
}

}  // namespace qaccel::kernels::fast
