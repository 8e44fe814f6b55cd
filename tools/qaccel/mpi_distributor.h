// The WorkDistributor of this process (core/distribute.h): MPI's world when
// qaccel was built with MPI (CMake found it: QACCEL_HAVE_MPI) and launched by
// mpirun; the single process otherwise. MPI is initialized on first use and
// finalized at exit; a plain `qaccel explore` never touches it.
#pragma once

#include "qaccel/core/distribute.h"

namespace qaccel::cli {

WorkDistributor& ProcessDistributor();
// Ends every process of the run (MPI_Abort) after an error on one of them,
// which would otherwise leave the others waiting in a collective. No-op for a
// single process.
void AbortOtherProcesses(int code);

}  // namespace qaccel::cli
