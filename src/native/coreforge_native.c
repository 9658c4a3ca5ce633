/*
 * The few Linux syscalls Node.js does not expose and ostree needs:
 * extended attributes (bare-user repos keep ownership in user.ostreemeta),
 * flock (repository locking), and syncfs (one flush per transaction); RPM
 * payload decoders (decoders.c); a write that hashes on the thread pool
 * (hashwrite.c).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <unistd.h>

#include "decoders.h"
#include "addon.h"
#include "hashwrite.h"
#include "spawn.h"

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "napi call failed: " #call); return NULL; } } while (0)

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s%s%s", syscall, strerror(err), path ? " " : "", path ? path : "");
  napi_throw(env, coreforge_error(env, coreforge_errno_code(err), err, msg, NULL));
  return NULL;
}

/* Reads argument i as a UTF-8 string into a malloc'd buffer. */
static char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return NULL;
  }
  char *s = malloc(len + 1);
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* target: a path (string, symlinks not followed) or an fd (number). */
typedef struct { int is_fd; int fd; char *path; } target_t;

static int get_target(napi_env env, napi_value v, target_t *t) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  t->path = NULL;
  t->is_fd = type == napi_number;
  if (t->is_fd) return napi_get_value_int32(env, v, &t->fd) == napi_ok;
  t->path = get_string(env, v);
  return t->path != NULL;
}

static napi_value list_xattrs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  target_t t;
  if (!get_target(env, argv[0], &t)) return NULL;
  ssize_t n;
  char *buf = NULL;
  for (;;) {
    n = t.is_fd ? flistxattr(t.fd, NULL, 0) : llistxattr(t.path, NULL, 0);
    if (n < 0) break;
    buf = realloc(buf, n + 1);
    ssize_t m = t.is_fd ? flistxattr(t.fd, buf, n) : llistxattr(t.path, buf, n);
    if (m < 0 && errno == ERANGE) continue;
    n = m;
    break;
  }
  if (n < 0) {
    int err = errno;
    free(buf);
    napi_value r = throw_errno(env, err, "listxattr", t.path);
    free(t.path);
    return r;
  }
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t idx = 0;
  for (ssize_t off = 0; off < n;) {
    size_t l = strnlen(buf + off, n - off);
    napi_value s;
    napi_create_string_latin1(env, buf + off, l, &s);
    napi_set_element(env, arr, idx++, s);
    off += l + 1;
  }
  free(buf);
  free(t.path);
  return arr;
}

/* getXattr(target, name) -> Buffer, or null when the attribute is absent. */
static napi_value get_xattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  target_t t;
  if (!get_target(env, argv[0], &t)) return NULL;
  char *name = get_string(env, argv[1]);
  if (!name) { free(t.path); return NULL; }
  ssize_t n;
  void *buf = NULL;
  for (;;) {
    n = t.is_fd ? fgetxattr(t.fd, name, NULL, 0) : lgetxattr(t.path, name, NULL, 0);
    if (n < 0) break;
    buf = realloc(buf, n ? n : 1);
    ssize_t m = t.is_fd ? fgetxattr(t.fd, name, buf, n) : lgetxattr(t.path, name, buf, n);
    if (m < 0 && errno == ERANGE) continue;
    n = m;
    break;
  }
  napi_value result;
  if (n < 0) {
    int err = errno;
    free(buf);
    free(name);
    if (err == ENODATA) { free(t.path); napi_get_null(env, &result); return result; }
    result = throw_errno(env, err, "getxattr", t.path);
    free(t.path);
    return result;
  }
  void *data;
  napi_create_buffer_copy(env, n, buf, &data, &result);
  free(buf);
  free(name);
  free(t.path);
  return result;
}

/* setXattr(target, name, Buffer) */
static napi_value set_xattr(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  target_t t;
  if (!get_target(env, argv[0], &t)) return NULL;
  char *name = get_string(env, argv[1]);
  if (!name) { free(t.path); return NULL; }
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok) {
    free(name); free(t.path);
    napi_throw_type_error(env, NULL, "expected a Buffer");
    return NULL;
  }
  int r = t.is_fd ? fsetxattr(t.fd, name, data, len, 0) : lsetxattr(t.path, name, data, len, 0);
  int err = errno;
  free(name);
  if (r < 0) { napi_value v = throw_errno(env, err, "setxattr", t.path); free(t.path); return v; }
  free(t.path);
  return NULL;
}

/* removeXattr(target, name) */
static napi_value remove_xattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  target_t t;
  if (!get_target(env, argv[0], &t)) return NULL;
  char *name = get_string(env, argv[1]);
  if (!name) { free(t.path); return NULL; }
  int r = t.is_fd ? fremovexattr(t.fd, name) : lremovexattr(t.path, name);
  int err = errno;
  free(name);
  if (r < 0 && err != ENODATA) { napi_value v = throw_errno(env, err, "removexattr", t.path); free(t.path); return v; }
  free(t.path);
  return NULL;
}

/* flock(fd, op) with op "sh" | "ex" | "un"; non-blocking; returns false if held elsewhere. */
static napi_value do_flock(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  char op[4] = {0};
  size_t l;
  CHECK(napi_get_value_string_utf8(env, argv[1], op, sizeof op, &l));
  int how = strcmp(op, "ex") == 0 ? LOCK_EX : strcmp(op, "sh") == 0 ? LOCK_SH : LOCK_UN;
  napi_value result;
  if (flock(fd, how | (how == LOCK_UN ? 0 : LOCK_NB)) < 0) {
    if (errno == EWOULDBLOCK) { napi_get_boolean(env, false, &result); return result; }
    return throw_errno(env, errno, "flock", NULL);
  }
  napi_get_boolean(env, true, &result);
  return result;
}

static napi_value do_syncfs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (syncfs(fd) < 0) return throw_errno(env, errno, "syncfs", NULL);
  return NULL;
}

static void free_aligned(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* A zero-filled Buffer whose memory is 4096-byte aligned, as O_DIRECT I/O requires. */
static napi_value aligned_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t size;
  CHECK(napi_get_value_uint32(env, argv[0], &size));
  void *mem = NULL;
  if (size == 0 || posix_memalign(&mem, 4096, size) != 0) return throw_errno(env, ENOMEM, "posix_memalign", NULL);
  memset(mem, 0, size);
  napi_value buf;
  if (napi_create_external_buffer(env, size, mem, free_aligned, NULL, &buf) != napi_ok) {
    free(mem);
    napi_throw_error(env, NULL, "napi_create_external_buffer failed");
    return NULL;
  }
  return buf;
}

/* Is s[0..n) well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF)? */
static int valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
    else return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += len;
  }
  return 1;
}

/*
 * readdirIno(path) -> [names, kinds, inos]: the entries of a directory
 * (without . and ..) with getdents' d_type and d_ino, so that a walk needs
 * no lstat per entry. names: when every name is UTF-8, one string of them
 * separated by NULs (one string is far cheaper to hand over than thousands);
 * otherwise an array, where a name that is not UTF-8 is its bytes as a
 * latin1 string and has 0x80 set in its kind. kinds[i] is d_type (DT_DIR 4,
 * DT_REG 8, DT_LNK 10, DT_UNKNOWN 0, ...). inos is a Float64Array (exact
 * below 2^53).
 */
struct linux_dirent64_hdr {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static napi_value readdir_ino(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = get_string(env, argv[0]);
  if (!path) return NULL;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    napi_value r = throw_errno(env, err, "opendir", path);
    free(path);
    return r;
  }
  /* the whole directory's records, then two passes over them: no allocation per entry */
  size_t cap = 32768, used = 0;
  char *raw = malloc(cap);
  for (;;) {
    if (cap - used < 8192) {
      cap *= 2;
      raw = realloc(raw, cap);
    }
    long n = syscall(SYS_getdents64, fd, raw + used, cap - used);
    if (n < 0) {
      int err = errno;
      close(fd);
      free(raw);
      napi_value r = throw_errno(env, err, "readdir", path);
      free(path);
      return r;
    }
    if (n == 0) break;
    used += (size_t)n;
  }
  close(fd);
  size_t count = 0, total = 0;
  int all_valid = 1;
  for (size_t off = 0; off < used;) {
    struct linux_dirent64_hdr *d = (struct linux_dirent64_hdr *)(raw + off);
    off += d->d_reclen;
    const char *nm = d->d_name;
    if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
    size_t l = strlen(nm);
    total += l + 1;
    count++;
    if (all_valid && !valid_utf8((const unsigned char *)nm, l)) all_valid = 0;
  }
  napi_value names, kbuf, ab, ta, result;
  unsigned char *kinds;
  double *inos;
  napi_create_buffer(env, count, (void **)&kinds, &kbuf);
  napi_create_arraybuffer(env, count * sizeof(double), (void **)&inos, &ab);
  napi_create_typedarray(env, napi_float64_array, count, ab, 0, &ta);
  char *joined = all_valid ? malloc(total ? total : 1) : NULL;
  size_t jl = 0, i = 0;
  if (!all_valid) napi_create_array_with_length(env, count, &names);
  for (size_t off = 0; off < used;) {
    struct linux_dirent64_hdr *d = (struct linux_dirent64_hdr *)(raw + off);
    off += d->d_reclen;
    const char *nm = d->d_name;
    if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
    size_t l = strlen(nm);
    kinds[i] = d->d_type;
    inos[i] = (double)d->d_ino;
    if (all_valid) {
      if (i > 0) joined[jl++] = 0;
      memcpy(joined + jl, nm, l);
      jl += l;
    } else {
      napi_value s;
      if (valid_utf8((const unsigned char *)nm, l)) napi_create_string_utf8(env, nm, l, &s);
      else {
        napi_create_string_latin1(env, nm, l, &s);
        kinds[i] |= 0x80;
      }
      napi_set_element(env, names, (uint32_t)i, s);
    }
    i++;
  }
  if (all_valid) {
    napi_create_string_utf8(env, joined, jl, &names);
    free(joined);
  }
  free(raw);
  free(path);
  napi_create_array_with_length(env, 3, &result);
  napi_set_element(env, result, 0, names);
  napi_set_element(env, result, 1, kbuf);
  napi_set_element(env, result, 2, ta);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"listXattrs", NULL, list_xattrs, NULL, NULL, NULL, napi_default, NULL},
    {"getXattr", NULL, get_xattr, NULL, NULL, NULL, napi_default, NULL},
    {"setXattr", NULL, set_xattr, NULL, NULL, NULL, napi_default, NULL},
    {"removeXattr", NULL, remove_xattr, NULL, NULL, NULL, napi_default, NULL},
    {"flock", NULL, do_flock, NULL, NULL, NULL, napi_default, NULL},
    {"syncfs", NULL, do_syncfs, NULL, NULL, NULL, napi_default, NULL},
    {"alignedBuffer", NULL, aligned_buffer, NULL, NULL, NULL, napi_default, NULL},
    {"readdirIno", NULL, readdir_ino, NULL, NULL, NULL, napi_default, NULL},
    {"createDecoder", NULL, native_create_decoder, NULL, NULL, NULL, napi_default, NULL},
    {"decode", NULL, native_decode, NULL, NULL, NULL, napi_default, NULL},
    {"sha256Create", NULL, native_sha256_create, NULL, NULL, NULL, napi_default, NULL},
    {"sha256Digest", NULL, native_sha256_digest, NULL, NULL, NULL, napi_default, NULL},
    {"hashWrite", NULL, native_hash_write, NULL, NULL, NULL, napi_default, NULL},
    {"fillFromFiles", NULL, native_fill_from_files, NULL, NULL, NULL, napi_default, NULL},
    {"fileSizes", NULL, native_file_sizes, NULL, NULL, NULL, napi_default, NULL},
    {"spawnProcess", NULL, native_spawn_process, NULL, NULL, NULL, napi_default, NULL},
    {"waitProcess", NULL, native_wait_process, NULL, NULL, NULL, napi_default, NULL},
    {"pipe", NULL, native_pipe, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
