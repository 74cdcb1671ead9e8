// SpscQueue: a bounded single-producer/single-consumer ring for handing work to shards.
//
// Push blocks (waits on an atomic, no mutex) while the ring is full; this is how a slow
// shard slows the reader down instead of dropping data. Pop blocks while it is empty.
// Exactly one thread may push and exactly one may pop. T must be movable.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>
#include <utility>
#include <vector>

namespace dnsight {

template <typename T>
class SpscQueue {
 public:
  // REQUIRES: capacity >= 2.
  explicit SpscQueue(size_t capacity) : slots_(capacity) {}
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  void Push(T value) {
    const size_t head = head_.load(std::memory_order_relaxed);
    size_t tail = tail_.load(std::memory_order_acquire);
    while (head - tail == slots_.size()) {
      tail_.wait(tail, std::memory_order_acquire);
      tail = tail_.load(std::memory_order_acquire);
    }
    slots_[head % slots_.size()] = std::move(value);
    head_.store(head + 1, std::memory_order_release);
    head_.notify_one();
  }

  T Pop() {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    size_t head = head_.load(std::memory_order_acquire);
    while (head == tail) {
      head_.wait(head, std::memory_order_acquire);
      head = head_.load(std::memory_order_acquire);
    }
    T value = std::move(slots_[tail % slots_.size()]);
    tail_.store(tail + 1, std::memory_order_release);
    tail_.notify_one();
    return value;
  }

 private:
  std::vector<T> slots_;
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};

}  // namespace dnsight
