/*
 * The thread-pool I/O of the OSTree tar (src/compose/ostree-tar.ts): file
 * pieces read into a buffer (fillFromFiles), a running SHA-256 fed and a
 * buffer written at a file position (hashWrite), every file's size in one
 * call (fileSizes). The caller lays the next buffer out on the main thread
 * meanwhile, so reading, hashing and writing a large artifact overlap.
 * SHA-256 is OpenSSL's, the copy Node itself links and exports to addons (no
 * extra library).
 *
 * JS side: sha256Create() -> handle; hashWrite(fd, buf, length, position,
 * handle | null, hashLength) -> Promise<void> (hashes buf[0..hashLength), then,
 * unless fd is -1, writes buf[0..length) at position, looping on short writes);
 * sha256Digest(handle) -> Buffer (32 bytes; the handle is spent).
 * One hashWrite at a time per handle: the caller awaits each before the next.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashwrite.h"
#include "addon.h"

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "napi call failed: " #call); return NULL; } } while (0)

struct sha {
  EVP_MD_CTX *ctx;
  int done;
};

static void sha_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct sha *s = data;
  EVP_MD_CTX_free(s->ctx);
  free(s);
}

napi_value native_sha256_create(napi_env env, napi_callback_info info) {
  (void)info;
  struct sha *s = calloc(1, sizeof *s);
  if (!s) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  s->ctx = EVP_MD_CTX_new();
  if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(s->ctx);
    free(s);
    napi_throw_error(env, "EIO", "cannot initialise SHA-256");
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, s, sha_finalize, NULL, &handle) != napi_ok) {
    sha_finalize(env, s, NULL);
    napi_throw_error(env, NULL, "napi_create_external failed");
    return NULL;
  }
  return handle;
}

napi_value native_sha256_digest(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct sha *s;
  CHECK(napi_get_value_external(env, argv[0], (void **)&s));
  if (s->done) { napi_throw_error(env, "EINVAL", "sha256 digest already taken"); return NULL; }
  unsigned char md[32];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(s->ctx, md, &len) != 1 || len != 32) { napi_throw_error(env, "EIO", "SHA-256 failed"); return NULL; }
  s->done = 1;
  void *data;
  napi_value out;
  CHECK(napi_create_buffer_copy(env, 32, md, &data, &out));
  return out;
}

struct job {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref buf_ref;
  napi_ref sha_ref;
  int fd;
  const uint8_t *data;
  size_t len;
  int64_t pos;
  struct sha *sha;
  size_t hash_len;
  int err;
  int hash_failed;
};

static void job_execute(napi_env env, void *data) {
  (void)env;
  struct job *j = data;
  if (j->sha && j->hash_len > 0 && EVP_DigestUpdate(j->sha->ctx, j->data, j->hash_len) != 1) {
    j->hash_failed = 1;
    return;
  }
  size_t off = 0;
  while (j->fd >= 0 && off < j->len) {
    ssize_t n = pwrite(j->fd, j->data + off, j->len - off, j->pos + (int64_t)off);
    if (n < 0) {
      if (errno == EINTR) continue;
      j->err = errno;
      return;
    }
    if (n == 0) {
      j->err = EIO;
      return;
    }
    off += (size_t)n;
  }
}

static void job_complete(napi_env env, napi_status status, void *data) {
  struct job *j = data;
  napi_value result;
  if (status != napi_ok || j->err || j->hash_failed) {
    const char *text = j->hash_failed ? "SHA-256 failed" : status != napi_ok ? "write cancelled" : strerror(j->err);
    result = coreforge_error(env, j->hash_failed ? "EIO" : coreforge_errno_code(j->err), j->err, text, NULL);
    napi_reject_deferred(env, j->deferred, result);
  } else {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, j->deferred, result);
  }
  napi_delete_reference(env, j->buf_ref);
  if (j->sha_ref) napi_delete_reference(env, j->sha_ref);
  napi_delete_async_work(env, j->work);
  free(j);
}

napi_value native_hash_write(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) { napi_throw_type_error(env, NULL, "hashWrite(fd, buffer, length, position, sha|null, hashLength)"); return NULL; }
  int fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  void *data;
  size_t buflen;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &buflen));
  int64_t len, pos, hash_len;
  CHECK(napi_get_value_int64(env, argv[2], &len));
  CHECK(napi_get_value_int64(env, argv[3], &pos));
  CHECK(napi_get_value_int64(env, argv[5], &hash_len));
  if (len < 0 || (size_t)len > buflen || hash_len < 0 || (size_t)hash_len > buflen || pos < 0) {
    napi_throw_range_error(env, NULL, "hashWrite: length, position or hashLength out of range");
    return NULL;
  }
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[4], &t));
  struct sha *sha = NULL;
  if (t == napi_external) {
    CHECK(napi_get_value_external(env, argv[4], (void **)&sha));
    if (sha->done) { napi_throw_error(env, "EINVAL", "sha256 digest already taken"); return NULL; }
  }
  struct job *j = calloc(1, sizeof *j);
  if (!j) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  j->fd = fd;
  j->data = data;
  j->len = (size_t)len;
  j->pos = pos;
  j->sha = sha;
  j->hash_len = (size_t)hash_len;
  /* the buffer and the hash state stay alive until the job completes */
  if (napi_create_reference(env, argv[1], 1, &j->buf_ref) != napi_ok || (sha && napi_create_reference(env, argv[4], 1, &j->sha_ref) != napi_ok)) {
    napi_throw_error(env, NULL, "hashWrite: cannot reference its arguments");
    return NULL;
  }
  return coreforge_queue_job(env, "coreforge.hashWrite", job_execute, job_complete, j, &j->work, &j->deferred);
}

/*
 * fillFromFiles(buffer, paths, table) -> Promise<void>, on the thread pool:
 * table holds four numbers per piece (buffer offset, file offset, length,
 * the file's expected size); each piece is read from paths[i] into the
 * buffer. A file of another size, or shorter than it said, rejects with
 * code ECHANGED; a failed open or read with its errno's code. `path` on the
 * error names the file. Several fills run at once (the pool has threads):
 * the reads of an archive's objects spread over the cores.
 */
struct fill_job {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref buf_ref;
  uint8_t *data;
  size_t buflen;
  size_t n;
  char **paths;
  double *table;
  int err;
  int changed;
  size_t failed_at;
};

static void fill_execute(napi_env env, void *data) {
  (void)env;
  struct fill_job *j = data;
  for (size_t i = 0; i < j->n; i++) {
    double *t = j->table + 4 * i;
    size_t off = (size_t)t[0], len = (size_t)t[2];
    int64_t pos = (int64_t)t[1], expect = (int64_t)t[3];
    int fd = open(j->paths[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) { j->err = errno; j->failed_at = i; return; }
    struct stat st;
    if (fstat(fd, &st) < 0) { j->err = errno; j->failed_at = i; close(fd); return; }
    if (st.st_size != expect) { j->changed = 1; j->failed_at = i; close(fd); return; }
    size_t got = 0;
    while (got < len) {
      ssize_t r = pread(fd, j->data + off + got, len - got, pos + (int64_t)got);
      if (r < 0) {
        if (errno == EINTR) continue;
        j->err = errno;
        j->failed_at = i;
        close(fd);
        return;
      }
      if (r == 0) { j->changed = 1; j->failed_at = i; close(fd); return; }
      got += (size_t)r;
    }
    close(fd);
  }
}

static void fill_complete(napi_env env, napi_status status, void *data) {
  struct fill_job *j = data;
  napi_value result;
  if (status != napi_ok || j->err || j->changed) {
    const char *text = j->changed ? "the file changed size while being read" : status != napi_ok ? "cancelled" : strerror(j->err);
    result = coreforge_error(env, j->changed ? "ECHANGED" : coreforge_errno_code(j->err), j->err, text, j->failed_at < j->n ? j->paths[j->failed_at] : NULL);
    napi_reject_deferred(env, j->deferred, result);
  } else {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, j->deferred, result);
  }
  napi_delete_reference(env, j->buf_ref);
  napi_delete_async_work(env, j->work);
  for (size_t i = 0; i < j->n; i++) free(j->paths[i]);
  free(j->paths);
  free(j->table);
  free(j);
}

napi_value native_fill_from_files(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) { napi_throw_type_error(env, NULL, "fillFromFiles(buffer, paths, table)"); return NULL; }
  void *data;
  size_t buflen;
  CHECK(napi_get_buffer_info(env, argv[0], &data, &buflen));
  uint32_t n;
  CHECK(napi_get_array_length(env, argv[1], &n));
  napi_typedarray_type tt;
  size_t tlen;
  void *tdata;
  napi_value tab;
  size_t toff;
  CHECK(napi_get_typedarray_info(env, argv[2], &tt, &tlen, &tdata, &tab, &toff));
  if (tt != napi_float64_array || tlen != (size_t)n * 4) { napi_throw_type_error(env, NULL, "fillFromFiles: table must be a Float64Array of 4 numbers per path"); return NULL; }
  double *t = tdata;
  for (uint32_t i = 0; i < n; i++) {
    double off = t[4 * i], pos = t[4 * i + 1], len = t[4 * i + 2];
    if (off < 0 || pos < 0 || len < 0 || off + len > (double)buflen) { napi_throw_range_error(env, NULL, "fillFromFiles: a piece lies outside the buffer"); return NULL; }
  }
  struct fill_job *j = calloc(1, sizeof *j);
  if (!j) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  j->data = data;
  j->buflen = buflen;
  j->n = n;
  j->failed_at = (size_t)-1;
  j->paths = calloc(n ? n : 1, sizeof(char *));
  j->table = malloc((n ? n : 1) * 4 * sizeof(double));
  if (n) memcpy(j->table, t, (size_t)n * 4 * sizeof(double));
  for (uint32_t i = 0; i < n; i++) {
    napi_value s;
    size_t l = 0;
    if (napi_get_element(env, argv[1], i, &s) != napi_ok || napi_get_value_string_utf8(env, s, NULL, 0, &l) != napi_ok) {
      for (uint32_t k = 0; k < i; k++) free(j->paths[k]);
      free(j->paths);
      free(j->table);
      free(j);
      napi_throw_type_error(env, NULL, "fillFromFiles: paths must be strings");
      return NULL;
    }
    j->paths[i] = malloc(l + 1);
    napi_get_value_string_utf8(env, s, j->paths[i], l + 1, &l);
  }
  if (napi_create_reference(env, argv[0], 1, &j->buf_ref) != napi_ok) {
    napi_throw_error(env, NULL, "fillFromFiles: cannot reference the buffer");
    return NULL;
  }
  return coreforge_queue_job(env, "coreforge.fillFromFiles", fill_execute, fill_complete, j, &j->work, &j->deferred);
}

/* fileSizes(paths) -> Float64Array: each file's size (stat), -1 where it does not exist. */
napi_value native_file_sizes(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t n;
  CHECK(napi_get_array_length(env, argv[0], &n));
  napi_value ab, ta;
  double *out;
  CHECK(napi_create_arraybuffer(env, (size_t)n * sizeof(double), (void **)&out, &ab));
  CHECK(napi_create_typedarray(env, napi_float64_array, n, ab, 0, &ta));
  char small[4096];
  for (uint32_t i = 0; i < n; i++) {
    napi_value s;
    size_t l = 0;
    CHECK(napi_get_element(env, argv[0], i, &s));
    if (napi_get_value_string_utf8(env, s, small, sizeof small, &l) != napi_ok || l >= sizeof small - 1) { napi_throw_type_error(env, NULL, "fileSizes: paths must be strings under 4 KiB"); return NULL; }
    struct stat st;
    out[i] = stat(small, &st) == 0 ? (double)st.st_size : -1;
  }
  return ta;
}
