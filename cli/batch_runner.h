// One batch run over images, for every subcommand that has one (`classify -l`, `embed IMAGES`):
// inputs (folders, @lists) -> this task's shard -> the images the output does not have yet
// (resume) -> decoded ahead (zeroshot::DecodeAhead) -> batches through the model -> one row per
// image in input order, synced after each batch; a failed image is an error row and the run goes
// on; a progress line on a terminal; at the end, if any image failed, an Error with the first
// failure's code: "N of M images failed". See docs/BATCH.md.
//
// A subcommand supplies only what differs: a BatchJob (what to compute for a batch of images and
// how to write a row, an error row, a checkpoint) over its output files (batch_output.h,
// npy_output.h).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "shard.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot::cli {

class BatchJob {
 public:
  virtual ~BatchJob() = default;
  // The error of an image this output cannot hold (e.g. a newline in a path for a .npy run's
  // index), found before it is decoded; nullopt = none.
  virtual std::optional<Error> refuse(const std::string& /*path*/) const { return std::nullopt; }
  // Runs the model on a batch of decoded images (their results kept for write_row); an Error
  // fails every image of the batch.
  virtual void compute(std::span<const Image> images) = 0;
  // Writes the row of `path`, the `index`-th image of the last compute().
  virtual void write_row(const std::string& path, std::size_t index) = 0;
  virtual void write_error(const std::string& path, const Error& error) = 0;
  // A checkpoint after each batch: what was written survives a crash of the machine.
  virtual void sync() = 0;
};

// What the output has already (--resume), for selecting the inputs still to do.
struct Resumed {
  std::string file;                                  // --output FILE
  std::function<bool(const std::string& path)> has;  // the image has a row or an error row
  bool torn = false;                                 // a torn last line was cut away
};

// The positional arguments -> image paths (expand_inputs), this task's share (select_shard, with
// a note on stderr when the shard came from the environment), less what `resumed` has (with a
// note saying how many). Notes unless quiet.
std::vector<std::string> pending_inputs(const std::vector<std::string>& args,
                                        const std::optional<Shard>& shard,
                                        const std::optional<Resumed>& resumed, bool quiet);

struct BatchRunOptions {
  std::size_t batch = 8;           // images per compute()
  bool quiet = false;              // no progress line
  std::size_t decode_threads = 1;  // decoding overlaps the model; 2 * batch images decoded ahead
  DecodeOptions decode = {};       // --decode (ModelFlags::decode_options)
};

// Runs `paths` through `job` (see the top of this file). Throws Error after the last image if any
// failed.
void run_batch(const std::vector<std::string>& paths, BatchJob& job,
               const BatchRunOptions& options);

// Prints a note on stderr when the shard came from the environment (visible in job logs).
void note_shard(const std::optional<Shard>& shard, std::size_t taken, std::size_t total,
                bool quiet);

}  // namespace zeroshot::cli
