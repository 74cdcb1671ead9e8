// Fuzzes the Frame Streams reader (and through it the decoder) on arbitrary bytes.
//
// Input layout: byte 0 picks the chunk size the stream is fed in (0: all at once, else
// 1..255 bytes); byte 1 holds option bits (1: bidirectional, 2: allow_restart, 4: a 64-byte
// frame limit); the rest is the stream. Half the chunks go through Feed(), half through
// PrepareWrite()/CommitWrite(), so both input paths and buffer compaction are exercised.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "ingest/frame_streams.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t chunk_param = data[0];
  const uint8_t flags = data[1];
  data += 2;
  size -= 2;

  dnsight::FrameStreamReader::Options options;
  options.bidirectional = (flags & 1) != 0;
  options.allow_restart = (flags & 2) != 0;
  options.max_frame_size = (flags & 4) != 0 ? 64 : dnsight::kFstrmDefaultMaxFrameSize;
  dnsight::FrameStreamReader reader(options);

  const size_t chunk = chunk_param == 0 ? (size > 0 ? size : 1) : chunk_param;
  size_t pos = 0;
  bool use_feed = false;
  uint64_t payload_bytes = 0;
  while (pos < size) {
    const size_t n = chunk < size - pos ? chunk : size - pos;
    if (use_feed) {
      reader.Feed({data + pos, n});
    } else {
      std::span<uint8_t> space = reader.PrepareWrite(n);
      std::memcpy(space.data(), data + pos, n);
      reader.CommitWrite(n);
    }
    use_feed = !use_feed;
    pos += n;
    std::span<const uint8_t> payload;
    dnsight::FrameStreamReader::Event e;
    while ((e = reader.Next(&payload)) != dnsight::FrameStreamReader::Event::kNeedMore &&
           e != dnsight::FrameStreamReader::Event::kError) {
      if (e == dnsight::FrameStreamReader::Event::kData) {
        if (payload.size() == 0 || payload.size() > options.max_frame_size) __builtin_trap();
        // Touch every payload byte so ASan checks the view.
        for (uint8_t b : payload) payload_bytes += b;
      }
    }
    if (e == dnsight::FrameStreamReader::Event::kError) {
      if (reader.status().ok()) __builtin_trap();
      break;
    }
  }
  (void)reader.Finish();
  (void)reader.buffered_bytes();
  return payload_bytes == UINT64_MAX ? 1 : 0;
}
