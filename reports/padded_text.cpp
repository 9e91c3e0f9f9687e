// PaddedText: a document's bytes with the spare readable bytes simdjson reads ahead into, from a
// buffer or a read-only mapping of the file (see json_reader.hpp).
#include <sys/mman.h>
#include <unistd.h>

#include <utility>

#include "preflight/build_config.hpp"
#include "reports/json_reader.hpp"

#if PREFLIGHT_HAVE_SIMDJSON
#include <simdjson.h>
#endif

namespace preflight::reports {

namespace {
#if PREFLIGHT_HAVE_SIMDJSON
constexpr std::size_t kPadding = simdjson::SIMDJSON_PADDING;
#else
constexpr std::size_t kPadding = 64;
#endif
}  // namespace

PaddedText::PaddedText(std::string_view text) : size_(text.size()) {
  text_.reserve(text.size() + kPadding);
  text_.assign(text);
}

PaddedText::PaddedText(std::string&& text) : text_(std::move(text)), size_(text_.size()) {
  if (text_.capacity() < text_.size() + kPadding) {
    text_.reserve(text_.size() + kPadding);
  }
}

std::optional<PaddedText> PaddedText::map_file(int fd, std::size_t size) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t tail = size % page;
  // Past the end of the file the last page reads as zeros: the padding is there when the page
  // has room for it. A file ending at a page boundary (or an empty one) is read instead.
  if (size == 0 || tail == 0 || page - tail < kPadding) {
    return std::nullopt;
  }
  void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (address == MAP_FAILED) {
    return std::nullopt;
  }
  PaddedText text;
  text.mapped_ = static_cast<const char*>(address);
  text.mapped_length_ = size;
  text.size_ = size;
  return text;
}

PaddedText::~PaddedText() {
  if (mapped_ != nullptr) {
    ::munmap(const_cast<char*>(mapped_),
             mapped_length_);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  }
}

PaddedText::PaddedText(PaddedText&& other) noexcept
    : text_(std::move(other.text_)),
      mapped_(std::exchange(other.mapped_, nullptr)),
      mapped_length_(std::exchange(other.mapped_length_, 0)),
      size_(std::exchange(other.size_, 0)) {}

PaddedText& PaddedText::operator=(PaddedText&& other) noexcept {
  if (this != &other) {
    if (mapped_ != nullptr) {
      ::munmap(const_cast<char*>(mapped_),
               mapped_length_);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    }
    text_ = std::move(other.text_);
    mapped_ = std::exchange(other.mapped_, nullptr);
    mapped_length_ = std::exchange(other.mapped_length_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

std::string_view PaddedText::view() const {
  return mapped_ != nullptr ? std::string_view(mapped_, size_) : std::string_view(text_);
}

std::size_t PaddedText::capacity() const {
  if (mapped_ != nullptr) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return (size_ + page - 1) / page * page;
  }
  return text_.capacity();
}

}  // namespace preflight::reports
