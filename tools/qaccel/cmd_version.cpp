// `qaccel version`: prints the version and build options (used in manifests).
#include <cstdio>

#include "command.h"

namespace {
void Setup(CLI::App* sub) {
  sub->callback([] {
#ifdef QACCEL_HAVE_TRAIN
    std::printf("qaccel %s (training: libtorch)\n", QACCEL_VERSION);
#else
    std::printf("qaccel %s (training: not built)\n", QACCEL_VERSION);
#endif
  });
}
}  // namespace

QACCEL_COMMAND(version, "Print the version and build options", Setup);
