/*
 * Streaming decompression of RPM payloads (zstd, xz/lzma, bzip2, gzip) with
 * the system libraries, called synchronously: a package import runs its whole
 * pipeline on one worker thread, with no child process and no pipe per
 * package (a fork of a large Node process costs more than decompressing).
 *
 * JS side: createDecoder(kind, memLimitBytes) -> external handle;
 * decode(handle, input, inputOffset, output, final) -> [consumed, produced, ended].
 * `final` says no input follows `input`: a stream that is not complete then is
 * an error ("truncated"). Concatenated streams/frames are decoded one after
 * another, as the command-line tools do.
 */
#include <node_api.h>
#include <bzlib.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "decoders.h"

enum kind { K_ZSTD, K_XZ, K_LZMA, K_BZIP2, K_GZIP };

struct decoder {
  enum kind kind;
  int ended;      /* the last stream/frame ended exactly at the end of the input seen so far */
  int in_stream;  /* a stream/frame has started and not ended */
  int ignore_rest; /* gzip: what follows the last member is not gzip (gzread ignores it; so does rpm) */
  uint64_t memlimit;
  ZSTD_DCtx *zstd;
  lzma_stream xz;
  bz_stream bz;
  z_stream gz;
};

static void decoder_free(struct decoder *d) {
  if (d->zstd) ZSTD_freeDCtx(d->zstd);
  if (d->kind == K_XZ || d->kind == K_LZMA) lzma_end(&d->xz);
  if (d->kind == K_BZIP2 && d->in_stream) BZ2_bzDecompressEnd(&d->bz);
  if (d->kind == K_GZIP) inflateEnd(&d->gz);
  free(d);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  decoder_free(data);
}

static napi_value fail(napi_env env, const char *what) {
  napi_throw_error(env, "ECORRUPT", what);
  return NULL;
}

static int xz_init(struct decoder *d) {
  lzma_stream init = LZMA_STREAM_INIT;
  d->xz = init;
  lzma_ret r = d->kind == K_XZ ? lzma_stream_decoder(&d->xz, d->memlimit, LZMA_CONCATENATED) : lzma_alone_decoder(&d->xz, d->memlimit);
  return r == LZMA_OK;
}

napi_value native_create_decoder(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return fail(env, "createDecoder(kind, memLimit)");
  char name[16];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) return fail(env, "createDecoder: kind must be a string");
  double limit = 0;
  napi_get_value_double(env, argv[1], &limit);
  struct decoder *d = calloc(1, sizeof *d);
  if (!d) return fail(env, "createDecoder: out of memory");
  d->memlimit = limit > 0 ? (uint64_t)limit : UINT64_MAX;
  int ok = 1;
  if (strcmp(name, "zstd") == 0) {
    d->kind = K_ZSTD;
    d->zstd = ZSTD_createDCtx();
    ok = d->zstd != NULL;
    if (ok && limit > 0) {
      /* the window is what a hostile frame can make us allocate */
      int log = 10;
      while (log < 31 && ((uint64_t)1 << (log + 1)) <= d->memlimit) log++;
      ZSTD_DCtx_setParameter(d->zstd, ZSTD_d_windowLogMax, log);
    }
  } else if (strcmp(name, "xz") == 0 || strcmp(name, "lzma") == 0) {
    d->kind = name[0] == 'x' ? K_XZ : K_LZMA;
    ok = xz_init(d);
  } else if (strcmp(name, "bzip2") == 0) {
    d->kind = K_BZIP2;
  } else if (strcmp(name, "gzip") == 0) {
    d->kind = K_GZIP;
    memset(&d->gz, 0, sizeof d->gz);
    ok = inflateInit2(&d->gz, 15 + 16) == Z_OK;
  } else {
    free(d);
    return fail(env, "createDecoder: unknown kind");
  }
  if (!ok) {
    decoder_free(d);
    return fail(env, "createDecoder: cannot initialise the decoder");
  }
  napi_value handle;
  if (napi_create_external(env, d, finalize, NULL, &handle) != napi_ok) {
    decoder_free(d);
    return fail(env, "createDecoder: napi_create_external failed");
  }
  return handle;
}

static napi_value result3(napi_env env, size_t consumed, size_t produced, int ended) {
  napi_value arr, v;
  napi_create_array_with_length(env, 3, &arr);
  napi_create_double(env, (double)consumed, &v);
  napi_set_element(env, arr, 0, v);
  napi_create_double(env, (double)produced, &v);
  napi_set_element(env, arr, 1, v);
  napi_get_boolean(env, ended, &v);
  napi_set_element(env, arr, 2, v);
  return arr;
}

/*
 * One step: decode from in[0..in_len) into out[0..out_len) until the input is
 * used up or the output is full. Returns NULL on success (and fills the
 * counts), or an error message.
 */
static const char *step(struct decoder *d, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, int final, size_t *consumed, size_t *produced) {
  static char msg[160];
  size_t ip = 0, op = 0;
  switch (d->kind) {
    case K_ZSTD: {
      while (op < out_len && (ip < in_len || d->in_stream)) {
        ZSTD_inBuffer ib = {in, in_len, ip};
        ZSTD_outBuffer ob = {out, out_len, op};
        size_t r = ZSTD_decompressStream(d->zstd, &ob, &ib);
        if (ZSTD_isError(r)) {
          snprintf(msg, sizeof msg, "zstd: %s", ZSTD_getErrorName(r));
          return msg;
        }
        int progress = ib.pos != ip || ob.pos != op;
        ip = ib.pos;
        op = ob.pos;
        d->in_stream = r != 0;
        d->ended = r == 0;
        if (!progress) break;
      }
      if (final && ip == in_len && op < out_len && d->in_stream) return "zstd: data is truncated";
      break;
    }
    case K_XZ:
    case K_LZMA: {
      d->xz.next_in = in;
      d->xz.avail_in = in_len;
      d->xz.next_out = out;
      d->xz.avail_out = out_len;
      lzma_ret r = LZMA_OK;
      while (d->xz.avail_out > 0 && r == LZMA_OK) {
        size_t before_in = d->xz.avail_in, before_out = d->xz.avail_out;
        r = lzma_code(&d->xz, final ? LZMA_FINISH : LZMA_RUN);
        if (r == LZMA_OK && d->xz.avail_in == before_in && d->xz.avail_out == before_out) break;
      }
      ip = in_len - d->xz.avail_in;
      op = out_len - d->xz.avail_out;
      if (r == LZMA_STREAM_END) d->ended = 1;
      else if (r == LZMA_BUF_ERROR && final) return "xz: data is truncated";
      else if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
        snprintf(msg, sizeof msg, "xz: %s", r == LZMA_MEMLIMIT_ERROR ? "memory limit exceeded" : r == LZMA_FORMAT_ERROR ? "not xz/lzma data" : "data is corrupt");
        return msg;
      }
      break;
    }
    case K_BZIP2: {
      while (op < out_len && ip < in_len) {
        if (!d->in_stream) {
          memset(&d->bz, 0, sizeof d->bz);
          if (BZ2_bzDecompressInit(&d->bz, 0, 0) != BZ_OK) return "bzip2: cannot initialise";
          d->in_stream = 1;
          d->ended = 0;
        }
        d->bz.next_in = (char *)in + ip;
        d->bz.avail_in = (unsigned)(in_len - ip > UINT32_MAX ? UINT32_MAX : in_len - ip);
        d->bz.next_out = (char *)out + op;
        d->bz.avail_out = (unsigned)(out_len - op > UINT32_MAX ? UINT32_MAX : out_len - op);
        unsigned ai = d->bz.avail_in, ao = d->bz.avail_out;
        int r = BZ2_bzDecompress(&d->bz);
        ip += ai - d->bz.avail_in;
        op += ao - d->bz.avail_out;
        if (r == BZ_STREAM_END) {
          BZ2_bzDecompressEnd(&d->bz);
          d->in_stream = 0;
          d->ended = 1;
        } else if (r != BZ_OK) {
          return "bzip2: data is corrupt";
        } else if (ai == d->bz.avail_in && ao == d->bz.avail_out) {
          break;
        }
      }
      if (final && ip == in_len && op < out_len && d->in_stream) return "bzip2: data is truncated";
      break;
    }
    case K_GZIP: {
      if (!d->in_stream && d->ended && ip < in_len && in[ip] != 0x1f) d->ignore_rest = 1;
      if (d->ignore_rest) {
        ip = in_len;
        break;
      }
      while (op < out_len && (ip < in_len || d->in_stream)) {
        d->gz.next_in = (Bytef *)in + ip;
        d->gz.avail_in = (uInt)(in_len - ip > UINT32_MAX ? UINT32_MAX : in_len - ip);
        d->gz.next_out = out + op;
        d->gz.avail_out = (uInt)(out_len - op > UINT32_MAX ? UINT32_MAX : out_len - op);
        uInt ai = d->gz.avail_in, ao = d->gz.avail_out;
        int r = inflate(&d->gz, Z_NO_FLUSH);
        ip += ai - d->gz.avail_in;
        op += ao - d->gz.avail_out;
        if (r == Z_STREAM_END) {
          inflateReset(&d->gz);
          d->in_stream = 0;
          d->ended = 1;
          if (ip < in_len && in[ip] != 0x1f) {
            d->ignore_rest = 1;
            ip = in_len;
            break;
          }
        } else if (r == Z_OK) {
          d->in_stream = 1;
          d->ended = 0;
        } else if (r == Z_BUF_ERROR) {
          break;
        } else {
          snprintf(msg, sizeof msg, "gzip: %s", d->gz.msg ? d->gz.msg : "data is corrupt");
          return msg;
        }
        if (ai == d->gz.avail_in && ao == d->gz.avail_out) break;
      }
      if (final && ip == in_len && op < out_len && d->in_stream) return "gzip: data is truncated";
      break;
    }
  }
  *consumed = ip;
  *produced = op;
  return NULL;
}

napi_value native_decode(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return fail(env, "decode(handle, input, offset, output, final)");
  struct decoder *d;
  if (napi_get_value_external(env, argv[0], (void **)&d) != napi_ok) return fail(env, "decode: bad handle");
  void *in, *out;
  size_t in_len, out_len;
  uint32_t off;
  bool final;
  if (napi_get_buffer_info(env, argv[1], &in, &in_len) != napi_ok) return fail(env, "decode: input must be a Buffer");
  if (napi_get_value_uint32(env, argv[2], &off) != napi_ok || off > in_len) return fail(env, "decode: bad input offset");
  if (napi_get_buffer_info(env, argv[3], &out, &out_len) != napi_ok) return fail(env, "decode: output must be a Buffer");
  napi_get_value_bool(env, argv[4], &final);
  size_t consumed = 0, produced = 0;
  const char *err = step(d, (const uint8_t *)in + off, in_len - off, out, out_len, final, &consumed, &produced);
  if (err) return fail(env, err);
  return result3(env, consumed, produced, d->ended && !d->in_stream);
}
