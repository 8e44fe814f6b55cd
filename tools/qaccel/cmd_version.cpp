// `qaccel version`: prints the version and whether training is available
// (training runs in the separate qaccel-train executable, see train_launcher.cpp),
// and the instruction set the engine's integer kernels run with here
// (kernels/fast/isa.h: detected at run time, capped by QACCEL_ISA).
#include <cstdio>

#include "command.h"
#include "qaccel/kernels/fast/isa.h"

namespace {
void Setup(CLI::App* sub) {
  sub->callback([] {
#ifdef QACCEL_TRAIN_BUILTIN
    std::printf("qaccel %s (training: libtorch, built in)\n", QACCEL_VERSION);
#else
    std::string trainer = qaccel::cli::TrainExecutablePath();
    if (trainer.empty())
      std::printf("qaccel %s (training: not available, no qaccel-train found)\n", QACCEL_VERSION);
    else
      std::printf("qaccel %s (training: available, %s)\n", QACCEL_VERSION, trainer.c_str());
#endif
    namespace kf = qaccel::kernels::fast;
    std::printf("isa: %s (cpu: %s; QACCEL_ISA=portable|avx2|avx512vnni caps it)\n",
                kf::IsaName(kf::SelectedIsa()), kf::IsaName(kf::DetectedIsa()));
  });
}
}  // namespace

QACCEL_COMMAND(version, "Print the version and whether training is available", Setup);
