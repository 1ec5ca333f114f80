// ZEROSHOT_TARGET_CLONES: compile a hot loop for AVX2 and for baseline x86-64, chosen at run time
// (GCC's target_clones), so that the portable build still runs 8-wide on CPUs that have AVX2.
// Only "avx2", not "fma": without contraction the AVX2 copy rounds exactly as the baseline does.
#pragma once

// target_clones dispatches through an IFUNC resolver that the dynamic loader runs during
// relocation, before ThreadSanitizer's runtime is initialised: the instrumented resolver crashes
// the process at start. TSan builds (scripts/sanitize.sh tsan) therefore use the baseline only.
#if defined(__SANITIZE_THREAD__)
#define ZEROSHOT_TARGET_CLONES
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZEROSHOT_TARGET_CLONES
#endif
#endif
#if !defined(ZEROSHOT_TARGET_CLONES) && defined(__x86_64__)
#define ZEROSHOT_TARGET_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#ifndef ZEROSHOT_TARGET_CLONES
#define ZEROSHOT_TARGET_CLONES
#endif
