// zeroshot: decoding images ahead of the model, on threads of its own.
//
//   zeroshot::DecodeAhead decoder({.threads = 2});
//   auto stream = decoder.stream(zeroshot::ImageSource::files(paths), /*ahead=*/16);
//   while (auto next = stream.next()) {   // in input order
//     if (next->image) ... else ... next->error->what();
//   }
//
// One component for every caller that decodes many images: the batch CLI (a stream over paths,
// bounded lookahead), the HTTP service (requests' encoded bytes on a shared pool, refused when too
// many wait), the coming index and bindings.
//
// Thread safety: submit() and stream() may be called from any number of threads at once; a Stream
// is used by one thread at a time. The DecodeAhead must outlive its streams and its futures'
// waiters.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "zeroshot/error.h"
#include "zeroshot/image.h"

namespace zeroshot {

// An image to decode: a file path, or the encoded bytes of a file (any format libvips reads).
struct ImageSource {
  enum class Kind { kFile, kBytes };
  Kind kind = Kind::kFile;
  std::string value;  // the path, or the bytes

  static ImageSource file(std::string path) { return {Kind::kFile, std::move(path)}; }
  static ImageSource bytes(std::string encoded) { return {Kind::kBytes, std::move(encoded)}; }
  static std::vector<ImageSource> files(std::span<const std::string> paths);
};

struct DecodeAheadOptions {
  // Threads that decode (at least 1): at most this many images decode at once, whatever the
  // number of streams and submitters.
  std::size_t threads = 1;
  // submit() refuses images beyond this many waiting for a thread; 0 = no limit. Streams bound
  // themselves (their `ahead`) and are not refused.
  std::size_t max_waiting = 0;
  // Passed to every decode (max_pixels: decompression bombs refused from the header).
  DecodeOptions decode = {};
  // Called on a decode thread after each image, decoded or not, with the seconds it took (for
  // metrics); must not throw. Empty = not called.
  std::function<void(double seconds)> on_decoded = nullptr;
};

// One decoded image in a stream's order: the image, or the zeroshot::Error that stopped it.
struct DecodedImage {
  std::size_t index = 0;  // position in the stream's sources
  std::optional<Image> image;
  std::optional<Error> error;
};

class DecodeAhead {
 public:
  explicit DecodeAhead(DecodeAheadOptions options = {});
  // Waits for the decodes running now; images still waiting are dropped (their futures report
  // std::future_error broken_promise), so an early destruction costs at most `threads` decodes.
  ~DecodeAhead();
  DecodeAhead(const DecodeAhead&) = delete;
  DecodeAhead& operator=(const DecodeAhead&) = delete;

  // Queues all of `sources` or none: nullopt (nothing queued) when more than max_waiting images
  // would then wait. Each future holds the Image or throws its zeroshot::Error (kImageRead,
  // kImageDecode, kImageTooLarge; any other exception of a decode as kInternal).
  std::optional<std::vector<std::future<Image>>> submit(std::vector<ImageSource> sources);
  // The same with these DecodeOptions instead of the DecodeAhead's (images for different models
  // on one pool: each model's Model::decode_options).
  std::optional<std::vector<std::future<Image>>> submit(std::vector<ImageSource> sources,
                                                        const DecodeOptions& decode);
  // Images waiting for a thread now (not counting those decoding).
  std::size_t waiting() const;

  // The images of `sources` in their order, decoded at most `ahead` (at least 1) beyond the one
  // last taken: memory stays bounded whatever the number of sources.
  class Stream {
   public:
    Stream(Stream&&) = default;
    Stream& operator=(Stream&&) = default;
    ~Stream() = default;  // images queued but not taken are still decoded, then dropped
    // The next image (or its error) in order, waiting for its decode; nullopt after the last.
    std::optional<DecodedImage> next();
    // True when next() would not wait (the next image is decoded, or there is none).
    bool ready() const;
    std::size_t size() const { return sources_.size(); }

   private:
    friend class DecodeAhead;
    Stream(DecodeAhead& owner, std::vector<ImageSource> sources, std::size_t ahead);
    void top_up();
    DecodeAhead* owner_;
    std::vector<ImageSource> sources_;
    std::size_t ahead_;
    std::size_t queued_ = 0;  // sources handed to the threads
    std::size_t taken_ = 0;   // results handed out
    std::deque<std::future<Image>> pending_;
  };
  Stream stream(std::vector<ImageSource> sources, std::size_t ahead);

  struct State;

 private:
  std::future<Image> enqueue(ImageSource source, const DecodeOptions& decode);
  std::shared_ptr<State> state_;
};

}  // namespace zeroshot
