// Memo of sub-results of the cost model (see sim_cache.h): four bounded,
// mutex-protected maps (OFMAP walks, IFMAP window histories, operand address
// tables, whole USER-mode layers) with first-in-first-out eviction.
#include "qaccel/accel/sim_cache.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "qaccel/accel/dataflow.h"

namespace qaccel::accel {

namespace detail {

int64_t StallTimeline::Before(int64_t row) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), std::make_pair(row, INT64_MIN));
  return it == points_.begin() ? 0 : std::prev(it)->second;
}

}  // namespace detail

namespace {

using detail::SimCacheKey;

bool EnabledFromEnv(const char* name) {
  const char* v = std::getenv(name);
  return !(v != nullptr && std::strcmp(v, "0") == 0);
}

std::atomic<bool> g_enabled{EnabledFromEnv("QACCEL_SIM_CACHE")};
std::atomic<bool> g_bulk{EnabledFromEnv("QACCEL_SIM_BULK")};
std::atomic<uint64_t> g_hits{0}, g_misses{0};

struct KeyHash {
  std::size_t operator()(const SimCacheKey& k) const {
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int64_t v : k) {
      h ^= static_cast<uint64_t>(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
      h *= 0xff51afd7ed558ccdULL;
    }
    return static_cast<std::size_t>(h ^ (h >> 33));
  }
};

template <class V>
class Memo {
 public:
  std::shared_ptr<const V> Get(const SimCacheKey& key,
                               const std::function<std::shared_ptr<const V>()>& compute) {
    if (!g_enabled.load(std::memory_order_relaxed)) return compute();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = map_.find(key);
      if (it != map_.end()) {
        g_hits.fetch_add(1, std::memory_order_relaxed);
        return it->second;
      }
    }
    g_misses.fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<const V> v = compute();  // outside the lock; may throw
    const std::size_t b = v->bytes() + sizeof(SimCacheKey) + 64;
    std::lock_guard<std::mutex> lock(mu_);
    if (b > budget_ / 8 || !g_enabled.load(std::memory_order_relaxed)) return v;  // too big to keep
    auto [it, inserted] = map_.emplace(key, v);
    if (!inserted) return it->second;  // another thread computed the same (identical) value
    order_.push_back({key, b});
    bytes_ += b;
    EvictLocked();
    return v;
  }
  void SetBudget(std::size_t b) {
    std::lock_guard<std::mutex> lock(mu_);
    budget_ = b;
    EvictLocked();
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    map_.clear();
    order_.clear();
    bytes_ = 0;
  }
  void AddStats(SimCacheStats* s) {
    std::lock_guard<std::mutex> lock(mu_);
    s->entries += map_.size();
    s->bytes += bytes_;
  }

 private:
  void EvictLocked() {
    while (bytes_ > budget_ && !order_.empty()) {
      map_.erase(order_.front().first);
      bytes_ -= order_.front().second;
      order_.pop_front();
    }
  }
  std::mutex mu_;
  std::unordered_map<SimCacheKey, std::shared_ptr<const V>, KeyHash> map_;
  std::deque<std::pair<SimCacheKey, std::size_t>> order_;  // insertion order, with sizes
  std::size_t bytes_ = 0;
  std::size_t budget_ = std::size_t{64} << 20;
};

Memo<detail::CachedOfmapWalk>& OfmapMemo() {
  static Memo<detail::CachedOfmapWalk> m;
  return m;
}
Memo<detail::CachedIfmapHistory>& IfmapMemo() {
  static Memo<detail::CachedIfmapHistory> m;
  return m;
}
Memo<detail::CachedUserLayer>& UserMemo() {
  static Memo<detail::CachedUserLayer> m;
  return m;
}
Memo<OperandMatrices>& OperandMemo() {
  static Memo<OperandMatrices> m;
  return m;
}

}  // namespace

void SetSimCacheEnabled(bool enabled) {
  g_enabled.store(enabled);
  if (!enabled) ClearSimCache();
}
bool SimCacheEnabled() { return g_enabled.load(); }

void SetSimBulkWalkEnabled(bool enabled) { g_bulk.store(enabled); }
bool SimBulkWalkEnabled() { return g_bulk.load(std::memory_order_relaxed); }

void SetSimCacheBudget(std::size_t bytes) {
  OfmapMemo().SetBudget(bytes);
  IfmapMemo().SetBudget(bytes);
  OperandMemo().SetBudget(bytes);
  UserMemo().SetBudget(bytes);
}

void ClearSimCache() {
  OfmapMemo().Clear();
  IfmapMemo().Clear();
  OperandMemo().Clear();
  UserMemo().Clear();
}

SimCacheStats GetSimCacheStats() {
  SimCacheStats s;
  s.hits = g_hits.load();
  s.misses = g_misses.load();
  OfmapMemo().AddStats(&s);
  IfmapMemo().AddStats(&s);
  OperandMemo().AddStats(&s);
  UserMemo().AddStats(&s);
  return s;
}

namespace detail {

std::shared_ptr<const CachedOfmapWalk> OfmapWalkMemo(
    const SimCacheKey& key,
    const std::function<std::shared_ptr<const CachedOfmapWalk>()>& compute) {
  return OfmapMemo().Get(key, compute);
}
std::shared_ptr<const CachedIfmapHistory> IfmapHistoryMemo(
    const SimCacheKey& key,
    const std::function<std::shared_ptr<const CachedIfmapHistory>()>& compute) {
  return IfmapMemo().Get(key, compute);
}
std::shared_ptr<const CachedUserLayer> UserLayerMemo(
    const SimCacheKey& key,
    const std::function<std::shared_ptr<const CachedUserLayer>()>& compute) {
  return UserMemo().Get(key, compute);
}
std::shared_ptr<const OperandMatrices> OperandMatricesMemo(
    const SimCacheKey& key,
    const std::function<std::shared_ptr<const OperandMatrices>()>& compute) {
  return OperandMemo().Get(key, compute);
}

}  // namespace detail
}  // namespace qaccel::accel
