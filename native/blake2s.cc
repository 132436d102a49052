// Keyed BLAKE2s (RFC 7693) for WireGuard's mac1/mac2 and cookies. OpenSSL's EVP digest has no
// key or output length, and the pure-JS hash cost ~5 µs per 116-byte mac1; this is a plain
// portable C++ version (~0.3 µs). Byte-identical to the other backends (tests compare).
#include "blake2s.h"

#include <cstring>
#include <vector>

namespace wgts {

namespace {

constexpr uint32_t kIv[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au, 0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

constexpr uint8_t kSigma[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

struct State {
  uint32_t h[8];
  uint32_t t0 = 0, t1 = 0;
};

// One 64-byte block; `last` sets the finalization flag.
void Compress(State& s, const uint8_t* block, bool last) {
  uint32_t m[16], v[16];
  for (int i = 0; i < 16; i++) m[i] = Load32(block + 4 * i);
  for (int i = 0; i < 8; i++) {
    v[i] = s.h[i];
    v[i + 8] = kIv[i];
  }
  v[12] ^= s.t0;
  v[13] ^= s.t1;
  if (last) v[14] = ~v[14];
#define WGTS_G(a, b, c, d, x, y)     \
  v[a] = v[a] + v[b] + (x);          \
  v[d] = Rotr(v[d] ^ v[a], 16);      \
  v[c] = v[c] + v[d];                \
  v[b] = Rotr(v[b] ^ v[c], 12);      \
  v[a] = v[a] + v[b] + (y);          \
  v[d] = Rotr(v[d] ^ v[a], 8);       \
  v[c] = v[c] + v[d];                \
  v[b] = Rotr(v[b] ^ v[c], 7);
  for (int r = 0; r < 10; r++) {
    const uint8_t* z = kSigma[r];
    WGTS_G(0, 4, 8, 12, m[z[0]], m[z[1]])
    WGTS_G(1, 5, 9, 13, m[z[2]], m[z[3]])
    WGTS_G(2, 6, 10, 14, m[z[4]], m[z[5]])
    WGTS_G(3, 7, 11, 15, m[z[6]], m[z[7]])
    WGTS_G(0, 5, 10, 15, m[z[8]], m[z[9]])
    WGTS_G(1, 6, 11, 12, m[z[10]], m[z[11]])
    WGTS_G(2, 7, 8, 13, m[z[12]], m[z[13]])
    WGTS_G(3, 4, 9, 14, m[z[14]], m[z[15]])
  }
#undef WGTS_G
  for (int i = 0; i < 8; i++) s.h[i] ^= v[i] ^ v[i + 8];
}

void AddCounter(State& s, uint32_t n) {
  s.t0 += n;
  if (s.t0 < n) s.t1++;
}

}  // namespace

void Blake2s(uint8_t* out, size_t outLen, const uint8_t* key, size_t keyLen, const uint8_t* data, size_t len) {
  State s;
  for (int i = 0; i < 8; i++) s.h[i] = kIv[i];
  s.h[0] ^= 0x01010000u ^ (static_cast<uint32_t>(keyLen) << 8) ^ static_cast<uint32_t>(outLen);
  uint8_t block[64];
  if (keyLen > 0) {
    std::memset(block, 0, 64);
    std::memcpy(block, key, keyLen);
    AddCounter(s, 64);
    if (len == 0) {
      Compress(s, block, true);
      goto done;
    }
    Compress(s, block, false);
  }
  // Every full block but the last one; the last (full or partial, or the empty message) is final.
  while (len > 64) {
    AddCounter(s, 64);
    Compress(s, data, false);
    data += 64;
    len -= 64;
  }
  std::memset(block, 0, 64);
  if (len > 0) std::memcpy(block, data, len);
  AddCounter(s, static_cast<uint32_t>(len));
  Compress(s, block, true);
done:
  uint8_t digest[32];
  for (int i = 0; i < 8; i++) {
    digest[4 * i] = static_cast<uint8_t>(s.h[i]);
    digest[4 * i + 1] = static_cast<uint8_t>(s.h[i] >> 8);
    digest[4 * i + 2] = static_cast<uint8_t>(s.h[i] >> 16);
    digest[4 * i + 3] = static_cast<uint8_t>(s.h[i] >> 24);
  }
  std::memcpy(out, digest, outLen);
  std::memset(block, 0, sizeof block);
}

// blake2s(key | null, data, out, outOffset = 0, outLen = 16) -> outLen. The key is at most 32
// bytes; out receives outLen (1..32) bytes at outOffset.
Napi::Value Blake2sMac(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) throw Napi::TypeError::New(env, "(key | null, data, out, outOffset?, outLen?)");
  ByteView key;
  if (!info[0].IsNull() && !info[0].IsUndefined()) key = Bytes(info, 0, "key");
  if (key.length > 32) throw Napi::RangeError::New(env, "key must be at most 32 bytes");
  ByteView data = Bytes(info, 1, "data");
  ByteView out = Bytes(info, 2, "out");
  size_t off = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value() : 0;
  size_t outLen = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Uint32Value() : 16;
  if (outLen < 1 || outLen > 32) throw Napi::RangeError::New(env, "outLen must be 1..32");
  if (off > out.length || out.length - off < outLen) throw Napi::RangeError::New(env, "out too small");
  Blake2s(out.data + off, outLen, key.data, key.length, data.data, data.length);
  return Napi::Number::New(env, static_cast<double>(outLen));
}

namespace {

// Zeroes secrets; the volatile store keeps the compiler from dropping it as a dead store.
void Wipe(void* p, size_t n) {
  volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
  while (n--) *v++ = 0;
}

// HMAC-BLAKE2s (RFC 2104, 64-byte block, 32-byte output). `buf` holds 64 + max(len, 32) bytes.
void Hmac(uint8_t out[32], const uint8_t* key, size_t keyLen, const uint8_t* data, size_t len, uint8_t* buf) {
  uint8_t k[64] = {0};
  if (keyLen > 64) {
    Blake2s(k, 32, nullptr, 0, key, keyLen);
  } else if (keyLen > 0) {
    std::memcpy(k, key, keyLen);
  }
  for (int i = 0; i < 64; i++) buf[i] = k[i] ^ 0x36;
  if (len > 0) std::memcpy(buf + 64, data, len);
  uint8_t inner[32];
  Blake2s(inner, 32, nullptr, 0, buf, 64 + len);
  for (int i = 0; i < 64; i++) buf[i] = k[i] ^ 0x5c;
  std::memcpy(buf + 64, inner, 32);
  Blake2s(out, 32, nullptr, 0, buf, 96);
  Wipe(k, sizeof k);
  Wipe(inner, sizeof inner);
  Wipe(buf, 64 + (len > 32 ? len : 32));
}

}  // namespace

// blake2sKdf(key, input, n, out, outOffset = 0) -> bytes written. n = 0: HMAC-BLAKE2s(key, input)
// (32 bytes); n = 1..3: WireGuard's KDFn (HKDF over HMAC-BLAKE2s with an empty info), n × 32
// bytes: T1 = HMAC(prk, 0x1), Ti = HMAC(prk, Ti-1 ‖ i) with prk = HMAC(key, input). One call
// for what node:crypto does with 2–4 Hmac objects; intermediate secrets are wiped.
Napi::Value Blake2sKdf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "(key, input, n, out, outOffset?)");
  ByteView key = Bytes(info, 0, "key");
  ByteView input = Bytes(info, 1, "input");
  uint32_t n = info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 99;
  if (n > 3) throw Napi::RangeError::New(env, "n must be 0..3");
  ByteView out = Bytes(info, 3, "out");
  size_t off = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Uint32Value() : 0;
  size_t outLen = n == 0 ? 32 : 32 * n;
  if (off > out.length || out.length - off < outLen) throw Napi::RangeError::New(env, "out too small");
  uint8_t stackBuf[64 + 256];
  std::vector<uint8_t> heapBuf;
  uint8_t* buf = stackBuf;
  if (input.length > 256) {
    heapBuf.resize(64 + input.length);
    buf = heapBuf.data();
  }
  uint8_t* o = out.data + off;
  if (n == 0) {
    Hmac(o, key.data, key.length, input.data, input.length, buf);
    return Napi::Number::New(env, 32);
  }
  uint8_t prk[32];
  uint8_t t[33];
  Hmac(prk, key.data, key.length, input.data, input.length, buf);
  t[0] = 1;
  Hmac(t, prk, 32, t, 1, buf);  // data is copied into buf before out is written
  std::memcpy(o, t, 32);
  for (uint32_t i = 2; i <= n; i++) {
    t[32] = static_cast<uint8_t>(i);
    Hmac(t, prk, 32, t, 33, buf);
    std::memcpy(o + 32 * (i - 1), t, 32);
  }
  Wipe(prk, sizeof prk);
  Wipe(t, sizeof t);
  return Napi::Number::New(env, static_cast<double>(outLen));
}

}  // namespace wgts
