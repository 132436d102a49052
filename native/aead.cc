// ChaCha20-Poly1305 with WireGuard's nonce (4 zero bytes ‖ 64-bit LE counter) on Node's own
// OpenSSL: one call per packet, no per-call cipher objects — node:crypto spends ~90 % of a
// 1420-byte seal creating them. Byte-identical to the other backends (tests compare).
// Also XChaCha20-Poly1305 (cookie replies): HChaCha20 here, then the same OpenSSL AEAD.
#include "aead.h"

#include <openssl/evp.h>

#include <vector>

namespace wgts {

namespace {

// One context pair per thread: worker threads may load the addon too.
thread_local EVP_CIPHER_CTX* g_seal = nullptr;
thread_local EVP_CIPHER_CTX* g_open = nullptr;
thread_local std::vector<uint8_t> g_scratch;

bool Ready() {
  if (g_seal && g_open) return true;
  g_seal = EVP_CIPHER_CTX_new();
  g_open = EVP_CIPHER_CTX_new();
  if (!g_seal || !g_open) return false;
  if (EVP_EncryptInit_ex(g_seal, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr) != 1) return false;
  if (EVP_DecryptInit_ex(g_open, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr) != 1) return false;
  return true;
}

uint64_t CounterArg(const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0)) throw Napi::RangeError::New(v.Env(), "counter must be a non-negative number");
  return static_cast<uint64_t>(d);
}

void Nonce(uint8_t nonce[12], uint64_t counter) {
  std::memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
}

struct Args {
  ByteView key, in, ad, out;
  size_t outOffset;
  uint64_t counter;
  bool hasAd;
};

Args Parse(const Napi::CallbackInfo& info) {
  if (info.Length() < 5) throw Napi::TypeError::New(info.Env(), "(key, counter, input, ad, out, outOffset?)");
  Args a;
  a.key = GetBytes(info[0], "key");
  if (a.key.length != 32) throw Napi::RangeError::New(info.Env(), "key must be 32 bytes");
  a.counter = CounterArg(info[1]);
  a.in = GetBytes(info[2], "input");
  a.hasAd = !info[3].IsNull() && !info[3].IsUndefined();
  if (a.hasAd) a.ad = GetBytes(info[3], "ad");
  a.out = GetBytes(info[4], "out");
  a.outOffset = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Uint32Value() : 0;
  return a;
}

// A partially overlapping input is copied first (exact in-place is fine for EVP).
const uint8_t* Source(const ByteView& in, const uint8_t* dst, size_t n) {
  if (in.data == dst || n == 0) return in.data;
  if (in.data + n <= dst || dst + n <= in.data) return in.data;
  g_scratch.assign(in.data, in.data + n);
  return g_scratch.data();
}

// The AEAD itself with a 12-byte nonce: dst receives n + 16 bytes.
void SealCore(Napi::Env env, const uint8_t* key, const uint8_t nonce[12], const uint8_t* src, size_t n, const uint8_t* ad, size_t adLen, uint8_t* dst) {
  if (!Ready()) throw Napi::Error::New(env, "OpenSSL ChaCha20-Poly1305 unavailable");
  int len = 0;
  if (EVP_EncryptInit_ex(g_seal, nullptr, nullptr, key, nonce) != 1) throw Napi::Error::New(env, "EVP_EncryptInit_ex failed");
  if (adLen > 0 && EVP_EncryptUpdate(g_seal, nullptr, &len, ad, static_cast<int>(adLen)) != 1) throw Napi::Error::New(env, "EVP_EncryptUpdate(ad) failed");
  if (n > 0 && EVP_EncryptUpdate(g_seal, dst, &len, src, static_cast<int>(n)) != 1) throw Napi::Error::New(env, "EVP_EncryptUpdate failed");
  if (EVP_EncryptFinal_ex(g_seal, dst + n, &len) != 1) throw Napi::Error::New(env, "EVP_EncryptFinal_ex failed");
  if (EVP_CIPHER_CTX_ctrl(g_seal, EVP_CTRL_AEAD_GET_TAG, 16, dst + n) != 1) throw Napi::Error::New(env, "get tag failed");
}

// Opens n + 16 bytes of `src` into dst (n bytes); false when authentication fails. The tag is
// copied before anything is written: an in-place open may overwrite where it was.
bool OpenCore(Napi::Env env, const uint8_t* key, const uint8_t nonce[12], const uint8_t* src, size_t n, const uint8_t tag[16], const uint8_t* ad, size_t adLen, uint8_t* dst) {
  if (!Ready()) throw Napi::Error::New(env, "OpenSSL ChaCha20-Poly1305 unavailable");
  int len = 0;
  uint8_t t[16];
  std::memcpy(t, tag, 16);
  if (EVP_DecryptInit_ex(g_open, nullptr, nullptr, key, nonce) != 1) throw Napi::Error::New(env, "EVP_DecryptInit_ex failed");
  if (adLen > 0 && EVP_DecryptUpdate(g_open, nullptr, &len, ad, static_cast<int>(adLen)) != 1) return false;
  if (n > 0 && EVP_DecryptUpdate(g_open, dst, &len, src, static_cast<int>(n)) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(g_open, EVP_CTRL_AEAD_SET_TAG, 16, t) != 1) return false;
  return EVP_DecryptFinal_ex(g_open, dst + n, &len) == 1;
}

inline uint32_t Rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

inline uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// HChaCha20 (draft-irtf-cfrg-xchacha §2.2): a 32-byte subkey from key and 16 nonce bytes.
void HChaCha20(uint8_t out[32], const uint8_t key[32], const uint8_t nonce[16]) {
  uint32_t x[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u};
  for (int i = 0; i < 8; i++) x[4 + i] = Load32(key + 4 * i);
  for (int i = 0; i < 4; i++) x[12 + i] = Load32(nonce + 4 * i);
#define WGTS_QR(a, b, c, d) \
  x[a] += x[b];             \
  x[d] = Rotl(x[d] ^ x[a], 16); \
  x[c] += x[d];             \
  x[b] = Rotl(x[b] ^ x[c], 12); \
  x[a] += x[b];             \
  x[d] = Rotl(x[d] ^ x[a], 8);  \
  x[c] += x[d];             \
  x[b] = Rotl(x[b] ^ x[c], 7);
  for (int i = 0; i < 10; i++) {
    WGTS_QR(0, 4, 8, 12)
    WGTS_QR(1, 5, 9, 13)
    WGTS_QR(2, 6, 10, 14)
    WGTS_QR(3, 7, 11, 15)
    WGTS_QR(0, 5, 10, 15)
    WGTS_QR(1, 6, 11, 12)
    WGTS_QR(2, 7, 8, 13)
    WGTS_QR(3, 4, 9, 14)
  }
#undef WGTS_QR
  const int idx[8] = {0, 1, 2, 3, 12, 13, 14, 15};
  for (int i = 0; i < 8; i++) {
    uint32_t w = x[idx[i]];
    out[4 * i] = static_cast<uint8_t>(w);
    out[4 * i + 1] = static_cast<uint8_t>(w >> 8);
    out[4 * i + 2] = static_cast<uint8_t>(w >> 16);
    out[4 * i + 3] = static_cast<uint8_t>(w >> 24);
  }
  std::memset(x, 0, sizeof x);
}

// XChaCha20-Poly1305 is ChaCha20-Poly1305 under the HChaCha20 subkey of the first 16 nonce
// bytes, with the nonce 4 zero bytes ‖ the last 8.
void XChaChaKeyNonce(uint8_t subkey[32], uint8_t nonce[12], const uint8_t key[32], const uint8_t nonce24[24]) {
  HChaCha20(subkey, key, nonce24);
  std::memset(nonce, 0, 4);
  std::memcpy(nonce + 4, nonce24 + 16, 8);
}

struct XArgs {
  ByteView key, nonce, in, ad, out;
  size_t outOffset;
};

XArgs ParseX(const Napi::CallbackInfo& info) {
  if (info.Length() < 5) throw Napi::TypeError::New(info.Env(), "(key, nonce24, input, ad, out, outOffset?)");
  XArgs a;
  a.key = Bytes(info, 0, "key");
  if (a.key.length != 32) throw Napi::RangeError::New(info.Env(), "key must be 32 bytes");
  a.nonce = Bytes(info, 1, "nonce");
  if (a.nonce.length != 24) throw Napi::RangeError::New(info.Env(), "nonce must be 24 bytes");
  a.in = Bytes(info, 2, "input");
  a.ad = Bytes(info, 3, "ad");
  a.out = Bytes(info, 4, "out");
  a.outOffset = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Uint32Value() : 0;
  return a;
}

}  // namespace

// seal(key, counter, plaintext, ad | null, out, outOffset = 0) -> bytes written (plaintext + 16)
Napi::Value AeadSeal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a = Parse(info);
  size_t n = a.in.length;
  if (a.outOffset > a.out.length || a.out.length - a.outOffset < n + 16) throw Napi::RangeError::New(env, "out too small");
  uint8_t nonce[12];
  Nonce(nonce, a.counter);
  uint8_t* dst = a.out.data + a.outOffset;
  SealCore(env, a.key.data, nonce, Source(a.in, dst, n), n, a.ad.data, a.hasAd ? a.ad.length : 0, dst);
  return Napi::Number::New(env, static_cast<double>(n + 16));
}

// open(key, counter, ciphertext, ad | null, out, outOffset = 0) -> plaintext length, or -1 when
// authentication fails (out may then hold garbage in that range, never trusted).
Napi::Value AeadOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a = Parse(info);
  if (a.in.length < 16) return Napi::Number::New(env, -1);
  size_t n = a.in.length - 16;
  if (a.outOffset > a.out.length || a.out.length - a.outOffset < n) throw Napi::RangeError::New(env, "out too small");
  uint8_t nonce[12];
  Nonce(nonce, a.counter);
  uint8_t* dst = a.out.data + a.outOffset;
  bool ok = OpenCore(env, a.key.data, nonce, Source(a.in, dst, n), n, a.in.data + n, a.ad.data, a.hasAd ? a.ad.length : 0, dst);
  return Napi::Number::New(env, ok ? static_cast<double>(n) : -1);
}

// xseal(key, nonce24, plaintext, ad, out, outOffset = 0) -> bytes written (plaintext + 16)
Napi::Value XaeadSeal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  XArgs a = ParseX(info);
  size_t n = a.in.length;
  if (a.outOffset > a.out.length || a.out.length - a.outOffset < n + 16) throw Napi::RangeError::New(env, "out too small");
  uint8_t subkey[32];
  uint8_t nonce[12];
  XChaChaKeyNonce(subkey, nonce, a.key.data, a.nonce.data);
  uint8_t* dst = a.out.data + a.outOffset;
  SealCore(env, subkey, nonce, Source(a.in, dst, n), n, a.ad.data, a.ad.length, dst);
  std::memset(subkey, 0, sizeof subkey);
  return Napi::Number::New(env, static_cast<double>(n + 16));
}

// xopen(key, nonce24, ciphertext, ad, out, outOffset = 0) -> plaintext length, or -1.
Napi::Value XaeadOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  XArgs a = ParseX(info);
  if (a.in.length < 16) return Napi::Number::New(env, -1);
  size_t n = a.in.length - 16;
  if (a.outOffset > a.out.length || a.out.length - a.outOffset < n) throw Napi::RangeError::New(env, "out too small");
  uint8_t subkey[32];
  uint8_t nonce[12];
  XChaChaKeyNonce(subkey, nonce, a.key.data, a.nonce.data);
  uint8_t* dst = a.out.data + a.outOffset;
  bool ok = OpenCore(env, subkey, nonce, Source(a.in, dst, n), n, a.in.data + n, a.ad.data, a.ad.length, dst);
  std::memset(subkey, 0, sizeof subkey);
  return Napi::Number::New(env, ok ? static_cast<double>(n) : -1);
}

}  // namespace wgts
