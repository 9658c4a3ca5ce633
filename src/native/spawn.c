/*
 * Start a program with posix_spawn, which glibc implements without copying
 * the parent's page tables (clone with CLONE_VM|CLONE_VFORK): a fork of a
 * Node process holding hundreds of MB costs tens of ms on these VMs, which a
 * build paying it for every scriptlet notices. Reaping is a blocking
 * waitpid on the thread pool (libuv only reaps the children it started).
 *
 * JS side: spawnProcess(path, argv[], envp[], fdMap) -> pid, where fdMap is
 * an Int32Array of (child fd, parent fd) pairs dup2'ed in the child, at most
 * 64 (every other parent fd is close-on-exec, as Node opens them);
 * waitProcess(pid) -> Promise<[exitCode | -1, signal | 0]>;
 * pipe() -> [readFd, writeFd] (close-on-exec).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "addon.h"

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "napi call failed: " #call); return NULL; } } while (0)

static char *dup_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* A NULL-terminated copy of a JS array of strings, or NULL (a TypeError is pending). */
static char **string_array(napi_env env, napi_value arr) {
  uint32_t n;
  if (napi_get_array_length(env, arr, &n) != napi_ok) { napi_throw_type_error(env, NULL, "expected an array of strings"); return NULL; }
  char **out = calloc(n + 1, sizeof(char *));
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, arr, i, &v);
    out[i] = dup_string(env, v);
    if (!out[i]) {
      for (uint32_t k = 0; k < i; k++) free(out[k]);
      free(out);
      napi_throw_type_error(env, NULL, "expected an array of strings");
      return NULL;
    }
  }
  return out;
}

static void free_array(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

static napi_value throw_code(napi_env env, int err, const char *what) {
  char text[256];
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_throw(env, coreforge_error(env, coreforge_errno_code(err), err, text, NULL));
  return NULL;
}

napi_value native_spawn_process(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) { napi_throw_type_error(env, NULL, "spawnProcess(path, argv, envp, fdMap)"); return NULL; }
  char *path = dup_string(env, argv[0]);
  if (!path) { napi_throw_type_error(env, NULL, "spawnProcess: path must be a string"); return NULL; }
  char **args = string_array(env, argv[1]);
  if (!args) { free(path); return NULL; }
  char **envp = string_array(env, argv[2]);
  if (!envp) { free(path); free_array(args); return NULL; }
  napi_typedarray_type tt;
  size_t n;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, argv[3], &tt, &n, &data, &ab, &off) != napi_ok || tt != napi_int32_array || n % 2) {
    free(path); free_array(args); free_array(envp);
    napi_throw_type_error(env, NULL, "spawnProcess: fdMap must be an Int32Array of (child fd, parent fd) pairs");
    return NULL;
  }
  int32_t *map = data;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  /* the child starts with default signal handling and an empty mask, whatever Node set */
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  /* parent fds are first duplicated above every child fd number, so no dup2 overwrites a source still needed */
  int dups[64];
  size_t ndups = 0;
  for (size_t i = 0; i < n && ndups < 64; i += 2) {
    int d = fcntl(map[i + 1], F_DUPFD_CLOEXEC, 64);
    if (d < 0) {
      int e = errno;
      for (size_t k = 0; k < ndups; k++) close(dups[k]);
      posix_spawn_file_actions_destroy(&fa);
      posix_spawnattr_destroy(&attr);
      free_array(args);
      free_array(envp);
      napi_value r = throw_code(env, e, "spawnProcess: fd");
      free(path);
      return r;
    }
    dups[ndups++] = d;
    posix_spawn_file_actions_adddup2(&fa, d, map[i]);
  }
  pid_t pid;
  int err = n / 2 > 64 ? E2BIG : posix_spawn(&pid, path, &fa, &attr, args, envp);
  for (size_t k = 0; k < ndups; k++) close(dups[k]);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  free_array(args);
  free_array(envp);
  if (err) {
    napi_value r = throw_code(env, err, path);
    free(path);
    return r;
  }
  free(path);
  napi_value result;
  napi_create_int32(env, pid, &result);
  return result;
}

struct wait_job {
  napi_async_work work;
  napi_deferred deferred;
  pid_t pid;
  int status;
  int err;
};

static void wait_execute(napi_env env, void *data) {
  (void)env;
  struct wait_job *j = data;
  for (;;) {
    pid_t r = waitpid(j->pid, &j->status, 0);
    if (r == j->pid) return;
    if (r < 0 && errno == EINTR) continue;
    j->err = r < 0 ? errno : EIO;
    return;
  }
}

static void wait_complete(napi_env env, napi_status status, void *data) {
  struct wait_job *j = data;
  napi_value result;
  if (status != napi_ok || j->err) {
    result = coreforge_error(env, "EIO", j->err, j->err ? strerror(j->err) : "cancelled", NULL);
    napi_reject_deferred(env, j->deferred, result);
  } else {
    napi_value a, b;
    napi_create_array_with_length(env, 2, &result);
    napi_create_int32(env, WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1, &a);
    napi_create_int32(env, WIFSIGNALED(j->status) ? WTERMSIG(j->status) : 0, &b);
    napi_set_element(env, result, 0, a);
    napi_set_element(env, result, 1, b);
    napi_resolve_deferred(env, j->deferred, result);
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

napi_value native_wait_process(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t pid;
  CHECK(napi_get_value_int32(env, argv[0], &pid));
  struct wait_job *j = calloc(1, sizeof *j);
  j->pid = pid;
  napi_value promise = coreforge_queue_job(env, "coreforge.waitProcess", wait_execute, wait_complete, j, &j->work, &j->deferred);
  if (!promise) free(j);
  return promise;
}

napi_value native_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return throw_code(env, errno, "pipe");
  napi_value result, a, b;
  napi_create_array_with_length(env, 2, &result);
  napi_create_int32(env, fds[0], &a);
  napi_create_int32(env, fds[1], &b);
  napi_set_element(env, result, 0, a);
  napi_set_element(env, result, 1, b);
  return result;
}
