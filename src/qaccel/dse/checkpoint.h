// The resumable record of an explore run (`qaccel explore --resume`,
// docs/dse.md "Resuming"): every evaluated point, in evaluation order,
// appended and flushed as soon as it and all earlier points are done. A run
// killed at any moment leaves a prefix of its evaluation order; a resumed
// run replays that prefix through the strategy (which is deterministic
// given the seed and the reported costs) instead of simulating it again, so
// its outputs are byte-identical to an uninterrupted run's.
//
// File format (text): line 1 "qaccel explore checkpoint v1 <fingerprint>",
// then one line per point: its linear index in the space and every number of
// its PointResult except the configuration (decoded from the index again),
// doubles in hexadecimal ("%a", exact). A last line without its newline was
// cut by the kill and is dropped.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "qaccel/dse/evaluator.h"

namespace qaccel::dse {

// One point as a text line without its newline (the checkpoint's record
// format: every number exact), and back; Parse returns false on a malformed
// line. The distributed explore ships points between processes this way.
std::string FormatPointRecord(uint64_t index, const PointResult& p);
bool ParsePointRecord(const std::string& line, uint64_t* index, PointResult* p);

class ExploreCheckpoint {
 public:
  struct Record {
    uint64_t index = 0;  // DesignSpace::Flatten of the candidate
    PointResult result;  // config left default: the caller decodes it
  };

  // Opens `file` (creating its directory). With `resume`, the records of an
  // existing file are read first; its fingerprint (what makes two runs the
  // same: space, workload, strategy, seed, ...) must equal `fingerprint`.
  // Without `resume`, an existing file is an error (say --resume or delete
  // it). Throws Error naming the file and line.
  ExploreCheckpoint(const std::filesystem::path& file, const std::string& fingerprint, bool resume);
  ~ExploreCheckpoint();
  ExploreCheckpoint(const ExploreCheckpoint&) = delete;
  ExploreCheckpoint& operator=(const ExploreCheckpoint&) = delete;

  const std::vector<Record>& recorded() const { return recorded_; }
  // Appends one point and flushes it to the operating system.
  void Append(uint64_t index, const PointResult& p);

 private:
  std::filesystem::path file_;
  std::vector<Record> recorded_;
  std::FILE* out_ = nullptr;
};

}  // namespace qaccel::dse
