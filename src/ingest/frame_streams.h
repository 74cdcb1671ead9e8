// Frame Streams (fstrm): the framing protocol that carries dnstap over files and sockets.
//
// Wire format; every integer is a big-endian u32:
//   data frame:     length (> 0), payload[length]
//   control frame:  0 (escape), length, control type, then fields:
//                   field type, field length, field bytes   (repeated)
// Control types are ACCEPT, START, STOP, READY and FINISH; the only field type is
// CONTENT_TYPE. A file is START, data..., STOP. On a socket a bidirectional writer sends
// READY (listing content types), the reader answers ACCEPT (the one it takes), the
// writer sends START, data..., STOP, and the reader answers FINISH. Unidirectional
// writers skip READY/ACCEPT and start with START.
//
// FrameStreamDecoder splits a byte stream, fed in chunks of any size, into data and
// control frames, and validates control frames. FrameStreamReader runs the reader's half
// of the protocol on top of it: it checks the frame order and the content type and
// queues the ACCEPT/FINISH replies for the caller to send. Neither does I/O, so the same
// code reads files, unix and TCP sockets, and fuzz input.
//
// Errors are sticky. Each is a Status whose message starts with a stable reason token
// (see FstrmError), used as a counter label, followed by ": " and details.
//
// Thread-safety: not thread-safe; one decoder/reader per stream.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "dnsight/status.h"

namespace dnsight {

inline constexpr std::string_view kDnstapContentType = "protobuf:dnstap.Dnstap";
// Largest data frame accepted by default. dnstap frames are a few hundred bytes; a DNS
// message is at most 64 KiB, so 1 MiB leaves room for anything legitimate.
inline constexpr size_t kFstrmDefaultMaxFrameSize = size_t{1} << 20;
// Limits of the control-frame format (the same values as libfstrm).
inline constexpr size_t kFstrmMaxControlFrameSize = 512;
inline constexpr size_t kFstrmMaxContentTypeLength = 256;
// Content types kept per control frame (READY/ACCEPT may list several).
inline constexpr size_t kFstrmMaxContentTypes = 8;

enum class FstrmControlType : uint32_t {
  kAccept = 1,
  kStart = 2,
  kStop = 3,
  kReady = 4,
  kFinish = 5,
};
std::string_view FstrmControlTypeName(FstrmControlType type);

// Protocol error reasons. Names (FstrmErrorName) are the stable tokens that start the
// error Status message.
enum class FstrmError : uint8_t {
  kNone = 0,
  kFrameTooLarge,           // "frame_too_large": data frame longer than max_frame_size
  kControlTooLarge,         // "control_too_large": control frame > 512 bytes
  kControlTooShort,         // "control_too_short": control frame without a type
  kBadControlType,          // "bad_control_type": type not in 1..5
  kBadControlField,         // "bad_control_field": field type other than CONTENT_TYPE
  kControlFieldOverrun,     // "control_field_overrun": field runs past the frame
  kContentTypeTooLong,      // "content_type_too_long": > 256 bytes
  kTooManyContentTypes,     // "too_many_content_types": START with > 1, others > 8
  kUnexpectedControlField,  // "unexpected_control_field": STOP/FINISH with fields
  kWrongContentType,        // "wrong_content_type": START/READY without ours
  kUnexpectedControl,       // "unexpected_control": control frame out of order
  kDataBeforeStart,         // "data_before_start"
  kDataAfterStop,           // "data_after_stop"
  kTruncatedFrame,          // "truncated_frame": input ended inside a frame
  kMissingStop,             // "missing_stop": input ended inside a started stream
};
inline constexpr size_t kFstrmErrorCount = 16;
std::string_view FstrmErrorName(FstrmError error);

// A decoded control frame. The content-type views point into the decoder's buffer.
struct FstrmControl {
  FstrmControlType type = FstrmControlType::kStop;
  std::array<std::string_view, kFstrmMaxContentTypes> content_types{};
  size_t num_content_types = 0;

  bool HasContentType(std::string_view content_type) const;
};

// One frame. For data frames `data` is the payload; for control frames `control` is set.
// Views are valid until the next PrepareWrite/Feed on the decoder that produced them.
struct FstrmFrame {
  bool is_control = false;
  std::span<const uint8_t> data;
  FstrmControl control;
};

// Encoders, for the reader's replies and for tools and tests.
void AppendFstrmDataFrame(std::span<const uint8_t> payload, std::string* out);
void AppendFstrmControlFrame(FstrmControlType type, std::span<const std::string_view> content_types,
                             std::string* out);

// Incremental frame splitter. Input is appended either by copying (Feed) or by reading
// straight into the buffer (PrepareWrite + CommitWrite, which is what sockets use).
// Memory: the buffer holds at most one partial frame plus the bytes of the last write, as
// long as the caller drains NextFrame() until kNeedMore before writing again; so it stays
// below max_frame_size + 8 + the largest write.
class FrameStreamDecoder {
 public:
  enum class Next { kFrame, kNeedMore, kError };

  explicit FrameStreamDecoder(size_t max_frame_size = kFstrmDefaultMaxFrameSize);
  ~FrameStreamDecoder();
  FrameStreamDecoder(const FrameStreamDecoder&) = delete;
  FrameStreamDecoder& operator=(const FrameStreamDecoder&) = delete;

  // Writable space of exactly `max_bytes` at the end of the buffered input. Invalidates
  // views of earlier frames. REQUIRES: max_bytes > 0.
  std::span<uint8_t> PrepareWrite(size_t max_bytes);
  // REQUIRES: n <= the size of the span the last PrepareWrite returned.
  void CommitWrite(size_t n);
  // Copies `bytes` in. Invalidates views of earlier frames.
  void Feed(std::span<const uint8_t> bytes);

  // Decodes the next complete frame into *frame. kNeedMore: not enough input yet.
  // kError: the stream is corrupt; status() says why; every later call returns kError.
  Next NextFrame(FstrmFrame* frame);

  const Status& status() const { return status_; }
  FstrmError error() const { return error_; }
  // Bytes received but not yet returned as frames (a partial frame at end of input).
  size_t buffered() const { return wpos_ - rpos_; }
  // Those bytes; after an error they start at the offending frame. Valid until the next
  // input call.
  std::span<const uint8_t> buffered_bytes() const { return {buf_.get() + rpos_, wpos_ - rpos_}; }
  // Stream offset of the first byte not yet consumed.
  uint64_t offset() const { return consumed_; }
  size_t max_frame_size() const { return max_frame_size_; }

 private:
  Next Fail(FstrmError error, std::string detail);
  Next ParseControl(const uint8_t* p, size_t len, FstrmControl* control);

  size_t max_frame_size_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0;
  size_t rpos_ = 0;
  size_t wpos_ = 0;
  uint64_t consumed_ = 0;
  FstrmError error_ = FstrmError::kNone;
  Status status_;
};

// The reader's side of the Frame Streams protocol for one stream (a file or one
// connection): frame order, content-type negotiation and replies.
class FrameStreamReader {
 public:
  struct Options {
    // Content type accepted in READY/START and offered in ACCEPT.
    std::string content_type = std::string(kDnstapContentType);
    // Larger data frames fail the stream with frame_too_large. Memory per stream is
    // bounded by about this plus the caller's read size.
    size_t max_frame_size = kFstrmDefaultMaxFrameSize;
    // Accept a READY handshake and queue ACCEPT/FINISH replies (sockets). Files set this
    // to false: a READY there is an unexpected_control error.
    bool bidirectional = true;
    // After STOP, accept a new START (concatenated capture files) instead of failing
    // with data_after_stop.
    bool allow_restart = false;
  };

  enum class Event {
    kNeedMore,  // feed more input
    kStarted,   // START accepted; data frames follow
    kData,      // *payload is one data frame
    kStopped,   // STOP received; a FINISH reply is queued if the writer sent READY
    kError,     // the stream failed; see status()
  };
  enum class State { kAwaitingStart, kAccepted, kStreaming, kStopped, kFailed };

  explicit FrameStreamReader(Options options);
  FrameStreamReader(const FrameStreamReader&) = delete;
  FrameStreamReader& operator=(const FrameStreamReader&) = delete;

  // Input, as in FrameStreamDecoder.
  std::span<uint8_t> PrepareWrite(size_t max_bytes) { return decoder_.PrepareWrite(max_bytes); }
  void CommitWrite(size_t n) { decoder_.CommitWrite(n); }
  void Feed(std::span<const uint8_t> bytes) { decoder_.Feed(bytes); }

  // Advances to the next event. For kData, *payload is valid until the next input call.
  Event Next(std::span<const uint8_t>* payload);

  // End of input. OK when the stream ended at a frame boundary outside a started stream;
  // else truncated_frame (a partial frame is buffered) or missing_stop (START without
  // STOP). Does not change state.
  Status Finish() const;
  FstrmError FinishError() const;

  // Reply bytes (ACCEPT, FINISH) to send to the writer; the caller erases what it sent.
  std::string& output() { return output_; }

  State state() const { return state_; }
  const Status& status() const { return status_; }
  FstrmError error() const { return error_; }
  // True once a READY was answered (the writer expects FINISH after STOP).
  bool bidirectional_handshake() const { return saw_ready_; }
  uint64_t data_frames() const { return data_frames_; }
  uint64_t control_frames() const { return control_frames_; }
  uint64_t offset() const { return decoder_.offset(); }
  // Unconsumed input; after an error it starts at the offending frame (a useful sample).
  std::span<const uint8_t> buffered_bytes() const { return decoder_.buffered_bytes(); }

 private:
  Event Fail(FstrmError error, std::string detail);
  Event OnControl(const FstrmControl& control);

  Options options_;
  FrameStreamDecoder decoder_;
  State state_ = State::kAwaitingStart;
  bool saw_ready_ = false;
  std::string output_;
  uint64_t data_frames_ = 0;
  uint64_t control_frames_ = 0;
  FstrmError error_ = FstrmError::kNone;
  Status status_;
};

}  // namespace dnsight
