// 64-bit FNV-1a, the hash that keys teacher answers by prompt text.
//
// FNV-1a (Fowler, Noll, Vo; specified in the IETF draft "The FNV Non-Cryptographic Hash
// Algorithm", draft-eastlake-fnv) over the bytes of the text, 64-bit variant:
//
//   h = 0xcbf29ce484222325                       (offset basis)
//   for each byte b:  h = (h XOR b) * 0x00000100000001b3   (mod 2^64, the FNV prime)
//
// | input    | Fnv1a64                |
// |----------|------------------------|
// | ""       | 0xcbf29ce484222325     |
// | "a"      | 0xaf63dc4c8601ec8c     |
// | "foobar" | 0x85944171f73967e8     |
//
// The value is part of our interface (the teacher service caches answers under it, and
// Python's bidir_core._core.hash_prompts gives the same value for the UTF-8 bytes of a
// str), so it never changes with the platform, compiler or version of this library.
// It is not cryptographic: fine for cache keys of our own prompts, not for untrusted
// input chosen to collide. Fnv1a64Hasher hashes text given in pieces, equal to hashing
// the concatenation, so a prompt can be hashed without building it.
#ifndef BIDIR_CORE_HASH_H_
#define BIDIR_CORE_HASH_H_

#include <cstdint>
#include <string_view>

namespace bidir {

inline constexpr uint64_t kFnv1a64OffsetBasis = 0xcbf29ce484222325ULL;
inline constexpr uint64_t kFnv1a64Prime = 0x00000100000001b3ULL;

// Streaming FNV-1a 64: Update() with consecutive pieces, then digest().
class Fnv1a64Hasher {
 public:
  constexpr Fnv1a64Hasher& Update(std::string_view bytes) {
    for (const char c : bytes) {
      h_ = (h_ ^ static_cast<uint8_t>(c)) * kFnv1a64Prime;
    }
    return *this;
  }
  constexpr uint64_t digest() const { return h_; }

 private:
  uint64_t h_ = kFnv1a64OffsetBasis;
};

// FNV-1a 64 of the bytes of `bytes`.
constexpr uint64_t Fnv1a64(std::string_view bytes) {
  return Fnv1a64Hasher().Update(bytes).digest();
}

static_assert(Fnv1a64("") == 0xcbf29ce484222325ULL, "FNV-1a 64 known answer");
static_assert(Fnv1a64("a") == 0xaf63dc4c8601ec8cULL, "FNV-1a 64 known answer");
static_assert(Fnv1a64("foobar") == 0x85944171f73967e8ULL, "FNV-1a 64 known answer");

}  // namespace bidir

#endif  // BIDIR_CORE_HASH_H_
