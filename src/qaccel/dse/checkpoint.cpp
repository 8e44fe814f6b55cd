// ExploreCheckpoint (see checkpoint.h).
#include "qaccel/dse/checkpoint.h"

#include <cinttypes>
#include <cstdlib>
#include <sstream>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"

namespace qaccel::dse {

namespace fs = std::filesystem;

namespace {

const char kMagic[] = "qaccel explore checkpoint v1 ";

std::string FormatRecord(uint64_t index, const PointResult& p) {
  char b[512];
  std::snprintf(b, sizeof b,
                "%" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64 " %a %a %" PRId64 " %" PRId64
                " %" PRId64 " %" PRId64 " %a %" PRId64 " %a %a %a\n",
                index, p.total_cycles, p.stall_cycles, p.macs, p.compute_util_pct,
                p.overall_util_pct, p.sram_read_bytes, p.sram_write_bytes, p.dram_read_bytes,
                p.dram_write_bytes, p.energy_pj, p.area.pes, p.area.sram_kb, p.area.area_mm2,
                p.objective);
  return b;
}

bool ParseRecord(const std::string& line, ExploreCheckpoint::Record* r) {
  std::istringstream in(line);
  PointResult& p = r->result;
  std::string d[6];  // the doubles, read with strtod (hexadecimal)
  in >> r->index >> p.total_cycles >> p.stall_cycles >> p.macs >> d[0] >> d[1] >>
      p.sram_read_bytes >> p.sram_write_bytes >> p.dram_read_bytes >> p.dram_write_bytes >> d[2] >>
      p.area.pes >> d[3] >> d[4] >> d[5];
  std::string extra;
  if (in.fail() || (in >> extra)) return false;
  double* dst[6] = {&p.compute_util_pct, &p.overall_util_pct, &p.energy_pj,
                    &p.area.sram_kb,     &p.area.area_mm2,    &p.objective};
  for (int i = 0; i < 6; ++i) {
    char* end = nullptr;
    *dst[i] = std::strtod(d[i].c_str(), &end);
    if (end != d[i].c_str() + d[i].size()) return false;
  }
  return true;
}

}  // namespace

std::string FormatPointRecord(uint64_t index, const PointResult& p) {
  std::string s = FormatRecord(index, p);
  s.pop_back();  // the newline
  return s;
}

bool ParsePointRecord(const std::string& line, uint64_t* index, PointResult* p) {
  ExploreCheckpoint::Record r;
  if (!ParseRecord(line, &r)) return false;
  *index = r.index;
  *p = r.result;
  return true;
}

ExploreCheckpoint::ExploreCheckpoint(const fs::path& file, const std::string& fingerprint,
                                     bool resume)
    : file_(file) {
  const std::string header = kMagic + fingerprint + "\n";
  std::string kept = header;
  if (fs::exists(file)) {
    Check(resume, file.string() +
                      ": an interrupted run's points are here; pass --resume to continue it, or "
                      "delete " +
                      file.parent_path().string() + " to start over");
    const std::string text = ReadTextFile(file);
    Check(text.compare(0, header.size(), header) == 0,
          file.string() +
              ":1: not the checkpoint of this run (a different space file, "
              "workload, strategy, seed or qaccel version); delete " +
              file.parent_path().string() + " to start over");
    size_t pos = header.size();
    int line_no = 1;
    for (size_t nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      ++line_no;
      Record r;
      Check(ParseRecord(text.substr(pos, nl - pos), &r),
            file.string() + ":" + std::to_string(line_no) +
                ": malformed checkpoint record; delete " + file.parent_path().string() +
                " to start over");
      recorded_.push_back(r);
      kept.append(text, pos, nl + 1 - pos);
    }
  }
  // Rewrite without a cut last line, then append from there.
  AtomicWriteText(file, kept);
  out_ = std::fopen(file.c_str(), "ab");
  Check(out_ != nullptr, file.string() + ": cannot open the checkpoint for appending");
}

ExploreCheckpoint::~ExploreCheckpoint() {
  if (out_) std::fclose(out_);
}

void ExploreCheckpoint::Append(uint64_t index, const PointResult& p) {
  const std::string line = FormatRecord(index, p);
  Check(std::fwrite(line.data(), 1, line.size(), out_) == line.size() && std::fflush(out_) == 0,
        file_.string() + ": cannot append to the checkpoint (disk full?)");
}

}  // namespace qaccel::dse
