// A kernels::PackedStore backed by one file of the prepared-weights cache (directory.h): the
// packed weights of one model tower. The first use of the tower opens it: a valid file under the
// final name is mapped read-only and each slot is checked (xxHash) on first use before its bytes
// are used; otherwise the weights are packed in memory as without a cache and each slot is
// written to a temporary file as it is packed; once every slot is there, its header is written
// and the file renamed into place. Anything that fails (a damaged slot, a full disk, a read-only
// folder) leaves the weights packed in memory, as without a cache.
//
// A short-lived process (the CLI) should not wait for the disk: with WriteMode::kDeferred the
// stores hold the packed weights (the model's own memory, no copy) instead of writing them, and
// write_deferred_in_background() writes them from a child process once the work is done.
#pragma once

#include <memory>
#include <string>

#include "kernels/gemm.h"

namespace zeroshot::weights_cache {

// The store for `tower` of the safetensors file `source`, or nullptr when the cache is off
// (ZEROSHOT_PREPARED_CACHE=off) or the source cannot be identified. Touches no file until used.
std::shared_ptr<kernels::PackedStore> open_store(const std::string& source,
                                                 const std::string& tower,
                                                 const std::string& precision);

// The same in `folder` (tests).
std::shared_ptr<kernels::PackedStore> open_store_in(const std::string& folder,
                                                    const std::string& source,
                                                    const std::string& tower,
                                                    const std::string& precision);

// When stores opened from now on write what they are handed: as each slot is packed (the
// default), or not until write_deferred (and only towers whose every slot was packed).
enum class WriteMode { kAsPacked, kDeferred };
void set_write_mode(WriteMode mode);

// Writes the files of the deferred towers whose stores are alive (each whole, renamed into
// place; skipped where a complete file is already there). Returns how many it wrote.
std::size_t write_deferred();

// For a process that is about to exit, its other threads idle: forks a child that writes the
// deferred towers (write_deferred, at low priority, its standard streams on /dev/null, in a
// session of its own so that the terminal's Ctrl-C does not reach it) and returns at once. One
// such writer per cache folder at a time: a child that finds another one at work leaves the files
// to the next run. False when nothing is deferred or the fork failed.
bool write_deferred_in_background();

}  // namespace zeroshot::weights_cache
