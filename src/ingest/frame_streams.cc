#include "ingest/frame_streams.h"

#include <algorithm>
#include <cstring>

namespace dnsight {
namespace {

constexpr uint32_t kFieldContentType = 1;

uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void AppendBe32(uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 4);
}

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (s.size() > 64) out += "...";
  return out;
}

}  // namespace

std::string_view FstrmControlTypeName(FstrmControlType type) {
  switch (type) {
    case FstrmControlType::kAccept:
      return "ACCEPT";
    case FstrmControlType::kStart:
      return "START";
    case FstrmControlType::kStop:
      return "STOP";
    case FstrmControlType::kReady:
      return "READY";
    case FstrmControlType::kFinish:
      return "FINISH";
  }
  return "UNKNOWN";
}

std::string_view FstrmErrorName(FstrmError error) {
  switch (error) {
    case FstrmError::kNone:
      return "none";
    case FstrmError::kFrameTooLarge:
      return "frame_too_large";
    case FstrmError::kControlTooLarge:
      return "control_too_large";
    case FstrmError::kControlTooShort:
      return "control_too_short";
    case FstrmError::kBadControlType:
      return "bad_control_type";
    case FstrmError::kBadControlField:
      return "bad_control_field";
    case FstrmError::kControlFieldOverrun:
      return "control_field_overrun";
    case FstrmError::kContentTypeTooLong:
      return "content_type_too_long";
    case FstrmError::kTooManyContentTypes:
      return "too_many_content_types";
    case FstrmError::kUnexpectedControlField:
      return "unexpected_control_field";
    case FstrmError::kWrongContentType:
      return "wrong_content_type";
    case FstrmError::kUnexpectedControl:
      return "unexpected_control";
    case FstrmError::kDataBeforeStart:
      return "data_before_start";
    case FstrmError::kDataAfterStop:
      return "data_after_stop";
    case FstrmError::kTruncatedFrame:
      return "truncated_frame";
    case FstrmError::kMissingStop:
      return "missing_stop";
  }
  return "unknown";
}

bool FstrmControl::HasContentType(std::string_view content_type) const {
  for (size_t i = 0; i < num_content_types; ++i) {
    if (content_types[i] == content_type) return true;
  }
  return false;
}

void AppendFstrmDataFrame(std::span<const uint8_t> payload, std::string* out) {
  AppendBe32(static_cast<uint32_t>(payload.size()), out);
  out->append(reinterpret_cast<const char*>(payload.data()), payload.size());
}

void AppendFstrmControlFrame(FstrmControlType type, std::span<const std::string_view> content_types,
                             std::string* out) {
  size_t len = 4;
  for (std::string_view ct : content_types) len += 8 + ct.size();
  AppendBe32(0, out);
  AppendBe32(static_cast<uint32_t>(len), out);
  AppendBe32(static_cast<uint32_t>(type), out);
  for (std::string_view ct : content_types) {
    AppendBe32(kFieldContentType, out);
    AppendBe32(static_cast<uint32_t>(ct.size()), out);
    out->append(ct);
  }
}

// ---------------------------------------------------------------------------------------
// FrameStreamDecoder

FrameStreamDecoder::FrameStreamDecoder(size_t max_frame_size) : max_frame_size_(max_frame_size) {}

FrameStreamDecoder::~FrameStreamDecoder() = default;

std::span<uint8_t> FrameStreamDecoder::PrepareWrite(size_t max_bytes) {
  if (rpos_ == wpos_) rpos_ = wpos_ = 0;
  if (cap_ - wpos_ < max_bytes && rpos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + rpos_, wpos_ - rpos_);
    wpos_ -= rpos_;
    rpos_ = 0;
  }
  if (cap_ - wpos_ < max_bytes) {
    // Geometric growth keeps byte-at-a-time feeding linear; the cap keeps it bounded.
    const size_t needed = wpos_ + max_bytes;
    const size_t bound = std::max(needed, max_frame_size_ + 8 + max_bytes);
    const size_t new_cap = std::max(needed, std::min(bound, std::max<size_t>(cap_ * 2, 4096)));
    auto grown = std::make_unique_for_overwrite<uint8_t[]>(new_cap);
    if (wpos_ > 0) std::memcpy(grown.get(), buf_.get(), wpos_);
    buf_ = std::move(grown);
    cap_ = new_cap;
  }
  return {buf_.get() + wpos_, max_bytes};
}

void FrameStreamDecoder::CommitWrite(size_t n) {
  wpos_ += std::min(n, cap_ - wpos_);
}

void FrameStreamDecoder::Feed(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  std::span<uint8_t> dst = PrepareWrite(bytes.size());
  std::memcpy(dst.data(), bytes.data(), bytes.size());
  CommitWrite(bytes.size());
}

FrameStreamDecoder::Next FrameStreamDecoder::Fail(FstrmError error, std::string detail) {
  error_ = error;
  std::string message(FstrmErrorName(error));
  message += ": ";
  message += detail;
  message += " at stream offset ";
  message += std::to_string(consumed_);
  status_ = Status::InvalidArgument(std::move(message));
  return Next::kError;
}

FrameStreamDecoder::Next FrameStreamDecoder::NextFrame(FstrmFrame* frame) {
  if (error_ != FstrmError::kNone) return Next::kError;
  const size_t avail = wpos_ - rpos_;
  if (avail < 4) return Next::kNeedMore;
  const uint8_t* p = buf_.get() + rpos_;
  const uint32_t len = LoadBe32(p);
  if (len != 0) {
    if (len > max_frame_size_) {
      return Fail(FstrmError::kFrameTooLarge, "data frame of " + std::to_string(len) +
                                                  " bytes exceeds the limit of " +
                                                  std::to_string(max_frame_size_));
    }
    if (avail - 4 < len) return Next::kNeedMore;
    frame->is_control = false;
    frame->data = {p + 4, len};
    rpos_ += 4 + size_t{len};
    consumed_ += 4 + uint64_t{len};
    return Next::kFrame;
  }
  if (avail < 8) return Next::kNeedMore;
  const uint32_t control_len = LoadBe32(p + 4);
  if (control_len > kFstrmMaxControlFrameSize) {
    return Fail(FstrmError::kControlTooLarge, "control frame of " + std::to_string(control_len) +
                                                  " bytes exceeds the limit of " +
                                                  std::to_string(kFstrmMaxControlFrameSize));
  }
  if (control_len < 4) {
    return Fail(FstrmError::kControlTooShort,
                "control frame of " + std::to_string(control_len) + " bytes has no type");
  }
  if (avail - 8 < control_len) return Next::kNeedMore;
  frame->is_control = true;
  frame->data = {};
  Next r = ParseControl(p + 8, control_len, &frame->control);
  if (r != Next::kFrame) return r;
  rpos_ += 8 + size_t{control_len};
  consumed_ += 8 + uint64_t{control_len};
  return Next::kFrame;
}

FrameStreamDecoder::Next FrameStreamDecoder::ParseControl(const uint8_t* p, size_t len,
                                                          FstrmControl* control) {
  const uint32_t type = LoadBe32(p);
  if (type < static_cast<uint32_t>(FstrmControlType::kAccept) ||
      type > static_cast<uint32_t>(FstrmControlType::kFinish)) {
    return Fail(FstrmError::kBadControlType, "control type " + std::to_string(type));
  }
  control->type = static_cast<FstrmControlType>(type);
  control->num_content_types = 0;
  const size_t max_types = control->type == FstrmControlType::kStart ? 1 : kFstrmMaxContentTypes;
  size_t pos = 4;
  while (pos < len) {
    if (len - pos < 8) {
      return Fail(FstrmError::kControlFieldOverrun,
                  "field header needs 8 bytes, " + std::to_string(len - pos) + " left");
    }
    const uint32_t field_type = LoadBe32(p + pos);
    const uint32_t field_len = LoadBe32(p + pos + 4);
    pos += 8;
    if (field_type != kFieldContentType) {
      return Fail(FstrmError::kBadControlField, "field type " + std::to_string(field_type));
    }
    if (field_len > len - pos) {
      return Fail(FstrmError::kControlFieldOverrun, "field of " + std::to_string(field_len) +
                                                        " bytes, " + std::to_string(len - pos) +
                                                        " left in the frame");
    }
    if (field_len > kFstrmMaxContentTypeLength) {
      return Fail(FstrmError::kContentTypeTooLong,
                  "content type of " + std::to_string(field_len) + " bytes");
    }
    if (control->type == FstrmControlType::kStop || control->type == FstrmControlType::kFinish) {
      return Fail(FstrmError::kUnexpectedControlField,
                  std::string(FstrmControlTypeName(control->type)) + " carries a content type");
    }
    if (control->num_content_types == max_types) {
      return Fail(FstrmError::kTooManyContentTypes,
                  std::string(FstrmControlTypeName(control->type)) + " lists more than " +
                      std::to_string(max_types) + " content types");
    }
    control->content_types[control->num_content_types++] = {reinterpret_cast<const char*>(p + pos),
                                                            field_len};
    pos += field_len;
  }
  return Next::kFrame;
}

// ---------------------------------------------------------------------------------------
// FrameStreamReader

FrameStreamReader::FrameStreamReader(Options options)
    : options_(std::move(options)), decoder_(options_.max_frame_size) {}

FrameStreamReader::Event FrameStreamReader::Fail(FstrmError error, std::string detail) {
  error_ = error;
  state_ = State::kFailed;
  std::string message(FstrmErrorName(error));
  message += ": ";
  message += detail;
  message += " at stream offset ";
  message += std::to_string(decoder_.offset());
  status_ = Status::InvalidArgument(std::move(message));
  return Event::kError;
}

FrameStreamReader::Event FrameStreamReader::Next(std::span<const uint8_t>* payload) {
  for (;;) {
    if (state_ == State::kFailed) return Event::kError;
    FstrmFrame frame;
    switch (decoder_.NextFrame(&frame)) {
      case FrameStreamDecoder::Next::kNeedMore:
        return Event::kNeedMore;
      case FrameStreamDecoder::Next::kError:
        error_ = decoder_.error();
        status_ = decoder_.status();
        state_ = State::kFailed;
        return Event::kError;
      case FrameStreamDecoder::Next::kFrame:
        break;
    }
    if (!frame.is_control) {
      if (state_ == State::kStreaming) {
        ++data_frames_;
        *payload = frame.data;
        return Event::kData;
      }
      if (state_ == State::kStopped) {
        return Fail(FstrmError::kDataAfterStop, "data frame after STOP");
      }
      return Fail(FstrmError::kDataBeforeStart, "data frame before START");
    }
    ++control_frames_;
    Event e = OnControl(frame.control);
    if (e != Event::kNeedMore) return e;
  }
}

// Returns kNeedMore to mean "handled, keep going".
FrameStreamReader::Event FrameStreamReader::OnControl(const FstrmControl& control) {
  const std::string_view ours = options_.content_type;
  switch (control.type) {
    case FstrmControlType::kReady: {
      if (!options_.bidirectional) {
        return Fail(FstrmError::kUnexpectedControl, "READY in a unidirectional stream");
      }
      if (state_ != State::kAwaitingStart) {
        return Fail(FstrmError::kUnexpectedControl, "READY after the handshake");
      }
      if (control.num_content_types > 0 && !control.HasContentType(ours)) {
        return Fail(FstrmError::kWrongContentType, "writer offers \"" +
                                                       Printable(control.content_types[0]) +
                                                       "\", want \"" + Printable(ours) + "\"");
      }
      saw_ready_ = true;
      const std::string_view accepted[] = {ours};
      AppendFstrmControlFrame(FstrmControlType::kAccept, accepted, &output_);
      state_ = State::kAccepted;
      return Event::kNeedMore;
    }
    case FstrmControlType::kStart: {
      const bool can_start = state_ == State::kAwaitingStart || state_ == State::kAccepted ||
                             (state_ == State::kStopped && options_.allow_restart);
      if (!can_start) {
        return Fail(FstrmError::kUnexpectedControl,
                    state_ == State::kStreaming ? "START inside a stream" : "START after STOP");
      }
      // A START without a content type matches any (as libfstrm does).
      if (control.num_content_types == 1 && control.content_types[0] != ours) {
        return Fail(FstrmError::kWrongContentType, "stream carries \"" +
                                                       Printable(control.content_types[0]) +
                                                       "\", want \"" + Printable(ours) + "\"");
      }
      state_ = State::kStreaming;
      return Event::kStarted;
    }
    case FstrmControlType::kStop: {
      if (state_ != State::kStreaming) {
        return Fail(FstrmError::kUnexpectedControl, "STOP outside a stream");
      }
      state_ = State::kStopped;
      if (saw_ready_) AppendFstrmControlFrame(FstrmControlType::kFinish, {}, &output_);
      return Event::kStopped;
    }
    case FstrmControlType::kAccept:
    case FstrmControlType::kFinish:
      return Fail(FstrmError::kUnexpectedControl,
                  std::string(FstrmControlTypeName(control.type)) + " sent to a reader");
  }
  return Fail(FstrmError::kBadControlType, "control type");
}

FstrmError FrameStreamReader::FinishError() const {
  if (state_ == State::kFailed) return error_;
  if (decoder_.buffered() > 0) return FstrmError::kTruncatedFrame;
  if (state_ == State::kStreaming) return FstrmError::kMissingStop;
  return FstrmError::kNone;
}

Status FrameStreamReader::Finish() const {
  switch (FinishError()) {
    case FstrmError::kNone:
      return Status::Ok();
    case FstrmError::kTruncatedFrame:
      return Status::OutOfRange(
          "truncated_frame: input ended " + std::to_string(decoder_.buffered()) +
          " bytes into a frame at stream offset " + std::to_string(decoder_.offset()));
    case FstrmError::kMissingStop:
      return Status::OutOfRange("missing_stop: input ended without STOP at stream offset " +
                                std::to_string(decoder_.offset()));
    default:
      return status_;
  }
}

}  // namespace dnsight
